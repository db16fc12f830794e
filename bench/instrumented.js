// The gateway with a counter around its TenantGate binding, used only for "gate calls per 1,000 requests"
// (throughput is measured on the unmodified bundle). GET /__bench/gate-calls on any host answers the count.
// Plain JavaScript: tsconfig.node.json type-checks bench/ for Node, and this file is a worker.
import gateway from '../src/index';

// The Durable Object classes, whatever they are.
export * from '../src/index';

let gateCalls = 0;

/** Every method called on a gate stub (fetch or RPC) counts as one call. */
function countingStub(stub) {
  return new Proxy(stub, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== 'function' || prop === 'then') return value;
      return (...args) => {
        gateCalls++;
        return value.apply(target, args);
      };
    },
  });
}

function countingNamespace(namespace) {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== 'function') return value;
      if (prop === 'get' || prop === 'getByName') return (...args) => countingStub(value.apply(target, args));
      return value.bind(target);
    },
  });
}

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === '/__bench/gate-calls')
      return Response.json({ gate_calls: gateCalls });
    return gateway.fetch(request, { ...env, TENANT_GATE: countingNamespace(env.TENANT_GATE) }, ctx);
  },
};
