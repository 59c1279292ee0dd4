#!/usr/bin/env node
// The npm bin entry: runs the TypeScript CLI directly (Node strips the types).
import '../src/cli/main.ts';
