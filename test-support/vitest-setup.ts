// Tests want the holders, whatever the load: CI runs two test files at once, each spawning foreign
// holder processes, and the production default probe budget per contended wait (100 ms) can run out
// there. Tests that exercise the deadline itself set their own.
import { configure } from '@lockscope/core';

export const TEST_HOLDERS_DEADLINE = 5_000;
configure({ holdersDeadline: TEST_HOLDERS_DEADLINE });
