// globalSetup of the workerd test projects: starts the services (./services) and hands their addresses to
// the worker's bindings through `provide`.
import type { TestProject } from 'vitest/node';
import { startTestServices } from './services';

export default async function setup(project: TestProject) {
  const { values, close } = await startTestServices();
  for (const [name, value] of Object.entries(values)) project.provide(name as keyof typeof values, value);
  return close;
}
