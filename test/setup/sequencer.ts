// The order files are handed to vitest's workers. Vitest's own sequencer runs projects one after another in
// name order, so the 43 `core` files (CPU-bound, half a minute on two cores) held every worker before the first
// workerd file began. Here the waiting projects go first: the browser's one long file, the two small outage
// projects (so their runtimes start beside the others, not after them), then the `worker` files, longest
// first as vitest orders them within a project; `core` goes last, where its files fill the workers that the
// last workerd files leave idle. Groups (`sequence.groupOrder`) still come first.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const PROJECT_ORDER = ['browser', 'worker-outage', 'battery-outage', 'worker', 'core'];

function rank(file: TestSpecification): number {
  const at = PROJECT_ORDER.indexOf(file.project.name);
  return at === -1 ? PROJECT_ORDER.length : at;
}

export class ProjectOrderSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Array sort is stable: within a project the base order (failed first, then longest or largest) stays.
    return (await super.sort(files)).sort(
      (a, b) =>
        a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder || rank(a) - rank(b),
    );
  }
}
