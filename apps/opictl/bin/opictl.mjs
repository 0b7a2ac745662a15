#!/usr/bin/env node
// Thin launcher so `npx opictl` runs the compiled CLI.
import '../dist/main.js';
