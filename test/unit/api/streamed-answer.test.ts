import { describe, expect, it } from 'vitest';
import { StreamedAnswer } from '../../../src/api/streamed-answer.js';

describe('StreamedAnswer', () => {
  it('should give the parts pushed in order, then the final reply, each push resolving once its part is pulled', async () => {
    const answer = new StreamedAnswer(new AbortController().signal);
    const taken: string[] = [];
    void answer.push('a').then(() => taken.push('a'));
    void answer.push('b').then(() => taken.push('b'));
    const parts = answer.parts();
    expect(await parts.next()).toEqual({ value: 'a', done: false });
    await Promise.resolve();
    expect(taken).toEqual(['a']);
    expect(await parts.next()).toEqual({ value: 'b', done: false });
    const waiting = parts.next();
    answer.end({ body: 'final' });
    expect(await waiting).toEqual({ value: 'final', done: true });
    expect(taken).toEqual(['a', 'b']);
  });

  it("should throw the loop's failure from the iterable, after the parts pushed before it", async () => {
    const answer = new StreamedAnswer(new AbortController().signal);
    void answer.push('a');
    answer.end({ error: new Error('nope') });
    const parts = answer.parts();
    expect(await parts.next()).toEqual({ value: 'a', done: false });
    await expect(parts.next()).rejects.toThrow('nope');
  });

  it('should end when the signal aborts, releasing a loop that waits on its pushes and dropping later ones', async () => {
    const controller = new AbortController();
    const answer = new StreamedAnswer(controller.signal);
    const parts = answer.parts();
    const waiting = parts.next();
    const pushed = answer.push('never pulled');
    controller.abort();
    // Aborted before the worker pulled it: the iterable ends, and the push is released rather than left hanging.
    expect((await waiting).done).toBe(true);
    await pushed;
    await answer.push('after');
  });
});
