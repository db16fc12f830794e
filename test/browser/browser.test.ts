// The browser project's one file. Its suites start their own gateway and Chromium, so they run one after
// another; as one file they are one task of the run, beside the workerd files rather than after them
// (vitest puts every project that runs files one at a time into a group of its own, after all the others).
import './console.suite';
import './dashboard.suite';
import './readme.suite';
