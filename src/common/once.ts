/**
 * A function that makes its value on the first call and returns that value after. For the AWS SDK's
 * lazy `import()`: compiled to CommonJS, each call copies the module's hundreds of exports again.
 */
export function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
