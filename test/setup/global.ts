// globalSetup of the workerd test projects: starts the services (./services) and hands their addresses to
// the worker's bindings through `provide`, with the bundle the second gateway isolate runs (./gateway-b).
import type { TestProject } from 'vitest/node';
import { buildGatewayB } from './gateway-b';
import { startTestServices } from './services';

export default async function setup(project: TestProject) {
  // Built (or found in the cache) while the services start.
  const bundle = buildGatewayB();
  bundle.catch(() => {});
  const { values, close } = await startTestServices();
  try {
    project.provide('gatewayBScript', await bundle);
  } catch (error) {
    await close();
    throw error;
  }
  for (const [name, value] of Object.entries(values)) project.provide(name as keyof typeof values, value);
  return close;
}
