const ISO_DURATION = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * Parses an ISO-8601 duration made of weeks, days, hours, minutes and seconds ("PT1H", "P1DT30M")
 * into milliseconds. Years and months are refused: their length depends on the calendar.
 */
export function parseIsoDuration(text: string): number {
  const match = ISO_DURATION.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) {
    throw new Error(`"${text}" is not an ISO-8601 duration such as PT1H or P1DT30M`);
  }
  const [weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => (part ? Number(part) : 0));
  const totalSeconds = (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds;
  return Math.round(totalSeconds * 1000);
}
