import { checkPathsForRemote, isLoopback, parseConfig, UsageError } from '../../src/config/load';
import { payloadStorageFor } from '../../src/codec/payload-storage';

describe('findings and payload stores in the config', () => {
  it('keeps the findings folder the default, resolved where the config is read', () => {
    const config = parseConfig({}, '/etc/tw/trailwarden.config.json');
    expect(config.findingsStore).toEqual({ directory: '/etc/tw/.trailwarden/findings' });
    expect(config.findingsDirectory).toBe('/etc/tw/.trailwarden/findings');
    expect(config.payloadStorage).toBeUndefined();
  });

  it('takes an S3 findings store and an S3 payload storage', () => {
    const config = parseConfig({
      findings: { s3: { bucket: 'tw-findings', prefix: 'prod/', endpoint: 'http://127.0.0.1:9000' } },
      payloadStorage: { type: 's3', bucket: 'tw-payloads', prefix: 'p/' },
    });
    expect(config.findingsStore).toEqual({ s3: { bucket: 'tw-findings', prefix: 'prod/', endpoint: 'http://127.0.0.1:9000' } });
    expect(config.findingsDirectory).toBe('');
    expect(config.payloadStorage).toEqual({ type: 's3', bucket: 'tw-payloads', prefix: 'p/' });
    expect(config.relativePaths).toEqual([]);
  });

  it('refuses both a directory and s3 for findings, unknown keys and a payload folder without a path', () => {
    expect(() => parseConfig({ findings: { directory: 'x', s3: { bucket: 'abc' } } })).toThrow('give either "directory" or "s3", not both');
    expect(() => parseConfig({ findings: { s3: { bucket: 'abc', colour: 1 } } })).toThrow('findings.s3: unknown key "colour"');
    expect(() => parseConfig({ payloadStorage: { type: 'directory' } })).toThrow(UsageError);
    expect(() => parseConfig({ payloadStorage: { type: 'gcs', bucket: 'abc' } })).toThrow(UsageError);
  });

  it('records which paths were relative, and refuses them against a Temporal service on another machine (one message)', () => {
    const config = parseConfig(
      { sources: [{ type: 'directory', path: './logs' }], findings: { directory: 'findings' }, payloadStorage: { type: 'directory', path: '/srv/payloads' } },
      '/home/me/tw.json',
    );
    expect(config.relativePaths).toEqual(['sources.0.path', 'findings.directory']);
    expect(config.payloadStorage).toEqual({ type: 'directory', path: '/srv/payloads' });
    expect(() => checkPathsForRemote(config, 'localhost:7233')).not.toThrow();
    expect(() => checkPathsForRemote(config, '127.0.0.1:7233')).not.toThrow();
    expect(() => checkPathsForRemote(config, '[::1]:7233')).not.toThrow();
    expect(() => checkPathsForRemote(config, 'temporal.prod.example:7233')).toThrow(
      'config /home/me/tw.json: sources.0.path, findings.directory: a relative path is resolved on this machine, but the workers of temporal.prod.example:7233 run elsewhere',
    );
    const absolute = parseConfig({ sources: [{ type: 'directory', path: '/data/logs' }], findings: { directory: '/shared/findings' } });
    expect(() => checkPathsForRemote(absolute, 'temporal.prod.example:7233')).not.toThrow();
  });

  it('knows loopback addresses', () => {
    expect(['localhost:7233', '127.0.0.1:7233', '127.1.2.3:1', '[::1]:7233'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['temporal:7233', '10.0.0.1:7233', 'x.tmprl.cloud:7233'].map(isLoopback)).toEqual([false, false, false]);
  });

  it('defaults the payload storage to ./.trailwarden/payloads for a local service only', () => {
    expect(payloadStorageFor(undefined, true, '/work/x')).toEqual({ type: 'directory', path: '/work/x/.trailwarden/payloads' });
    expect(payloadStorageFor(undefined, false, '/work/x')).toBeUndefined();
    expect(payloadStorageFor({ type: 's3', bucket: 'abc', prefix: '' }, true)).toEqual({ type: 's3', bucket: 'abc', prefix: '' });
  });
});
