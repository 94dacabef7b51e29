// A streaming handler: an async generator. Each `yield` is a partial reply, sent as soon as it is
// made (and no faster than the caller reads), and what it returns is the final reply.
//
//   node dist/main.js --role worker --service countdown --handler examples/handlers/countdown.mjs
//   node dist/main.js --role client --stream --call countdown 3     # 3, 2, 1, a line each, then liftoff
//
// A caller that stops (Ctrl-C, `break` out of `for await`, an AbortSignal) stops the generator at its
// next `yield`; `request.signal` says so to code that waits on something else meanwhile.
export default async function* countdown(request) {
  const from = Math.max(1, Math.min(Number.parseInt(request.text(), 10) || 3, 100));
  for (let n = from; n > 0; n--) {
    yield String(n);
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 200);
      request.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
  return 'liftoff';
}
