import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/system-packages.sh', import.meta.url));
const root = process.getuid?.() === 0;
const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', [SCRIPT, ...args], { env, timeout: 10_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/**
 * A machine without the packages: a PATH holding only `id` (no curl, openssl,
 * pkill, systemd-analyze, apt-get), a Python that cannot see Debian's dist-packages (so no zmq), and
 * no Chromium where the tests look for it.
 */
function bareMachine(): { bin: string; env: NodeJS.ProcessEnv } {
  const bin = mkdtempSync(join(tmpdir(), 'steward-bare-'));
  dirs.push(bin);
  symlinkSync('/usr/bin/id', join(bin, 'id'));
  const python = join(bin, 'python3');
  // -S skips site, which is what puts /usr/lib/python3/dist-packages (python3-zmq) on sys.path.
  writeFileSync(python, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
  chmodSync(python, 0o755);
  return { bin, env: { PATH: bin, STEWARD_PYTHON: python, STEWARD_CHROMIUM: join(bin, 'chromium'), STEWARD_INSTALL: 'no' } };
}

describe('scripts/system-packages.sh (what npm test, npm run bench and npm start run first)', () => {
  it('should pass silently on this machine, where .ci/run or a first npm test installed everything', async () => {
    const result = await run(['test'], process.env);
    expect(result).toMatchObject({ code: 0, stderr: '' });
  });

  it('should stop with one line naming the apt-get command when the test packages are missing and it may not install', async () => {
    const { env } = bareMachine();
    const result = await run(['test'], env);
    expect(result.code).toBe(1);
    const sudo = root ? '' : 'sudo ';
    expect(result.stderr).toBe(
      `steward: npm test needs Debian packages that are missing: python3-zmq chromium curl openssl procps gcc libzmq3-dev systemd; install them with: ${sudo}apt-get install -y python3-zmq chromium curl openssl procps gcc libzmq3-dev systemd\n`,
    );
  });

  it('should name only what is missing', async () => {
    const { bin, env } = bareMachine();
    for (const tool of ['curl', 'openssl', 'pkill', 'systemd-analyze']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
    // A compiler that finds zmq.h: the C peers' tests need nothing more.
    writeFileSync(join(bin, 'gcc'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(bin, 'gcc'), 0o755);
    const result = await run(['test'], { ...env, STEWARD_PYTHON: '/usr/bin/python3' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('missing: chromium;');
    expect(result.stderr).toContain('apt-get install -y chromium\n');
  });

  it('should run one apt-get update and one noninteractive apt-get install of what is missing, then check again', async () => {
    const { bin, env } = bareMachine();
    const calls = join(bin, 'calls');
    // A stand-in apt-get that records how it was called and installs nothing, so the check after it still fails.
    writeFileSync(join(bin, 'apt-get'), `#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> ${calls}\n`);
    chmodSync(join(bin, 'apt-get'), 0o755);
    const result = await run(['test'], { ...env, STEWARD_INSTALL: 'yes' });
    expect(readFileSync(calls, 'utf8')).toBe('noninteractive update -qq\nnoninteractive install -y -qq python3-zmq chromium curl openssl procps gcc libzmq3-dev systemd\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('steward: npm test needs Debian packages that are missing; installing: python3-zmq chromium curl openssl procps gcc libzmq3-dev systemd\n');
    expect(result.stderr).toContain('still misses python3-zmq chromium curl openssl procps gcc libzmq3-dev systemd after apt-get install');
  });

  it('should check the bench profile by capability: the baselines and a C compiler with the libzmq headers', async () => {
    const { env } = bareMachine();
    const result = await run(['bench'], { ...env, STEWARD_NATS_SERVER: '/nonexistent', STEWARD_NGINX: '/nonexistent', STEWARD_WRK: '/nonexistent' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('npm run bench needs Debian packages that are missing: nats-server nginx-light wrk gcc libzmq3-dev;');
  });

  it('should only note, not fail, what two of the commands npm start prints need', async () => {
    const { env } = bareMachine();
    const result = await run(['start'], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('need python3-zmq curl; install with:');
  });

  it('should refuse an unknown profile', async () => {
    const result = await run(['tests'], process.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown profile "tests"');
  });
});
