// The edge's one entry for the rest of the house: the tenant-host app, and what the control plane needs of
// the data plane. Control imports the edge only through this module (scripts/check-imports.ts holds it to
// that); the explain endpoint and the operator proxy decide and forward requests through it.
export { createTenantHostApp } from './app';
export { type Explanation, explainRequest } from './explain';
export { forwardAsOperator } from './operator-proxy';
// The page kit the operator dashboard shares with the tenant console: headers, shell, chart, copy button.
export { CopyButton, FormError, PageShell, Sparkline, UsageChart } from './pages/kit';
export { pageHeaders } from './pages/pages';
export { propagateChanges, tenantChanged } from './tenant-changed';
