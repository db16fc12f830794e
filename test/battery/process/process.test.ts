// The battery's process project's one file: every suite talks to the one gateway process of the project's
// setup, so they run one after another (a memory reading or a timing belongs to the suite that takes it);
// as one file they are one task of the run, beside the workerd files rather than after them (vitest puts
// every project that runs files one at a time into a group of its own, after all the others).
import './framing.suite';
import './key-timing.suite';
import './limits-burst.suite';
import './npm-start.suite';
import './raw-host.suite';
import './streaming.suite';
