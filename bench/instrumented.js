// The gateway with counters around its Durable Object bindings: TENANT_GATE (gate calls) and, when the
// worker has it, CHANGE_FEED (feed polls). The long-tail scenarios run this bundle (bench/tail.ts), their
// 1-tenant reference rows too, so the counting costs the same on both sides of every ratio; the rows compared
// with the passthrough run the unmodified bundle. GET /__bench/calls on any host answers this isolate's
// counts: `{"bindings": {"TENANT_GATE": {"lease": 12, …}, "CHANGE_FEED": {"poll": 40}}}`, a binding the
// worker does not have being absent.
// Plain JavaScript: tsconfig.node.json type-checks bench/ for Node, and this file is a worker.
import gateway from '../src/index';

// The Durable Object classes, whatever they are.
export * from '../src/index';

const COUNTED = ['TENANT_GATE', 'CHANGE_FEED'];
/** binding → method → calls made from this isolate's requests and handlers. */
const calls = {};

/**
 * Every method called on a stub (fetch or RPC) counts as one call of that method. The call is made as
 * `stub.method(...)`: an RPC method taken off the stub and applied with the stub as `this` would send the
 * stub itself along (DataCloneError: Could not serialize object of type "DurableObject").
 */
function countingStub(stub, counts) {
  return new Proxy(stub, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== 'function' || prop === 'then') return value;
      return (...args) => {
        const name = String(prop);
        counts[name] = (counts[name] ?? 0) + 1;
        return target[prop](...args);
      };
    },
  });
}

function countingNamespace(namespace, counts) {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== 'function') return value;
      if (prop === 'get' || prop === 'getByName')
        return (...args) => countingStub(value.apply(target, args), counts);
      return value.bind(target);
    },
  });
}

// One wrapped env per env the runtime passes (the same object request after request), so the gateway sees a
// stable env, as it does uninstrumented, and the wrapping costs one lookup per request.
const wrapped = new WeakMap();

function counted(env) {
  let env2 = wrapped.get(env);
  if (!env2) {
    env2 = { ...env };
    for (const name of COUNTED) {
      if (!env[name]) continue;
      calls[name] ??= {};
      env2[name] = countingNamespace(env[name], calls[name]);
    }
    wrapped.set(env, env2);
  }
  return env2;
}

const handlers = {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === '/__bench/calls') {
      counted(env);
      return Response.json({ bindings: calls });
    }
    return gateway.fetch(request, counted(env), ctx);
  },
};
// Every other handler the gateway has (queue, scheduled), with the same counted env.
for (const [name, handler] of Object.entries(gateway)) {
  if (name === 'fetch' || typeof handler !== 'function') continue;
  handlers[name] = (event, env, ctx) => handler.call(gateway, event, counted(env), ctx);
}

export default handlers;
