import { describe, expect, it } from 'vitest';
import { roles } from '../../../src/roles/index.js';

describe('the role index', () => {
  it('should name each role as its own module does, once', async () => {
    const names = roles.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const entry of roles) expect((await entry.load()).name).toBe(entry.name);
  });
});
