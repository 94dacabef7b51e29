/**
 * The systemd unit templates under deploy/systemd/: systemd's own checker
 * accepts them (where systemd-analyze exists; the test says so and skips
 * where it does not), and every flag their ExecStart lines and the example
 * environment files in docs/deploy.md pass is one the role knows.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { commonOptions } from '../../src/cli/common-options.js';
import { loadAllRoles } from '../../src/cli/roles/index.js';

const UNITS = fileURLToPath(new URL('../../deploy/systemd/', import.meta.url));
const DEPLOY_DOC = fileURLToPath(new URL('../../docs/deploy.md', import.meta.url));
const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze', '/usr/local/bin/systemd-analyze'].find((p) => existsSync(p));
if (!ANALYZE) console.warn('systemd unit check SKIPPED: no systemd-analyze on this machine (apt-get install systemd, which npm test does as root)');

const units = readdirSync(UNITS).filter((f) => f.endsWith('.service'));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The role and the flags a unit's ExecStart passes (environment variables left out: they are checked apart). */
function execStart(text: string): { role: string; flags: string[] } {
  const line = text.split('\n').find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error('no ExecStart');
  const args = line.slice('ExecStart='.length).split(/\s+/);
  const role = args[args.indexOf('--role') + 1] as string;
  return { role, flags: args.filter((a) => a.startsWith('--')) };
}

const roles = await loadAllRoles();

function knows(role: string, flag: string): boolean {
  const def = roles.find((r) => r.name === role);
  if (!def) throw new Error(`no role ${role}`);
  const name = flag.replace(/^--/, '');
  return name === 'role' || name in def.options || name in commonOptions;
}

describe('systemd unit templates (deploy/systemd/)', () => {
  it('should ship a broker, a worker template and a gateway unit', () => {
    expect(units.sort()).toEqual(['steward-broker.service', 'steward-gateway.service', 'steward-worker@.service']);
  });

  it('should pass only flags their roles know, in ExecStart and in the example environment files of docs/deploy.md', () => {
    for (const unit of units) {
      const { role, flags } = execStart(readFileSync(join(UNITS, unit), 'utf8'));
      for (const flag of flags) expect(knows(role, flag), `${unit}: --role ${role} ${flag}`).toBe(true);
    }
    // Lines such as STEWARD_WORKER_ARGS=--handler ... in the guide's env files.
    const doc = readFileSync(DEPLOY_DOC, 'utf8');
    const envRole: Record<string, string> = { STEWARD_BROKER_ARGS: 'broker', STEWARD_WORKER_ARGS: 'worker', STEWARD_BROKERS: 'worker', STEWARD_GATEWAY_ARGS: 'gateway' };
    let checked = 0;
    for (const line of doc.split('\n')) {
      const m = /^(STEWARD_[A-Z_]+)=(.*)$/.exec(line.trim());
      if (!m || !envRole[m[1]!]) continue;
      for (const flag of m[2]!.split(/\s+/).filter((a) => a.startsWith('--'))) {
        expect(knows(envRole[m[1]!]!, flag), `${m[1]}: ${flag}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5);
  });

  it.skipIf(!ANALYZE)('should be accepted by systemd-analyze verify (the worker template as an instance)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-units-'));
    dirs.push(dir);
    const files: string[] = [];
    for (const unit of units) {
      // The node that runs this test stands in for /usr/bin/node, so the check needs nothing installed.
      const text = readFileSync(join(UNITS, unit), 'utf8').replaceAll('/usr/bin/node', process.execPath);
      const name = unit === 'steward-worker@.service' ? 'steward-worker@echo.service' : unit;
      writeFileSync(join(dir, name), text);
      files.push(join(dir, name));
    }
    copyFileSync(join(UNITS, 'steward-worker@.service'), join(dir, 'steward-worker@.service'));
    const { stdout, stderr } = await promisify(execFile)(ANALYZE as string, ['verify', '--man=no', ...files], { timeout: 30_000 }).catch(
      (error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`systemd-analyze verify failed: ${error.stderr || error.stdout || error.message}`);
      },
    );
    // Anything it says about our units is a finding; it may say things about the host's own units.
    const ours = `${stdout}\n${stderr}`.split('\n').filter((l) => l.includes('steward-'));
    expect(ours).toEqual([]);
  });
});
