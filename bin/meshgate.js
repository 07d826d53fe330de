#!/usr/bin/env node
// The CLI is TypeScript; tsx compiles it on load, so `npx meshgate` works in a fresh clone without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
