import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stackAgents, workspaceRoot } from './stack-harness.js';

interface ComposeService {
  command?: string[];
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  ports?: string[];
}

const compose = parse(readFileSync(join(workspaceRoot, 'docker-compose.yml'), 'utf8'), {
  merge: true,
}) as {
  services: Record<string, ComposeService>;
};

describe('docker-compose.yml describes the same stack as npm start', () => {
  it('has NATS with JetStream and exactly the four agents', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['nats', ...stackAgents.map((a) => a.name)].sort(),
    );
    expect(compose.services['nats']!.command).toContain('-js');
  });

  it.each(stackAgents)("$name's command runs its built entry point", (agent) => {
    const service = compose.services[agent.name]!;
    expect(service.command).toEqual(['node', agent.entry]);
    expect(existsSync(join(workspaceRoot, agent.entry)), `${agent.entry} is built`).toBe(true);
  });

  it.each(stackAgents)('$name listens on its documented port with the shared node id', (agent) => {
    const service = compose.services[agent.name]!;
    expect(service.environment?.['OPI_GRPC_ADDR']).toBe(`0.0.0.0:${agent.grpcPort}`);
    expect(service.environment?.['OPI_NODE_ID']).toBe('dpu0');
    expect(service.environment?.['OPI_NATS_URL']).toBe('nats://nats:4222');
    for (const [key, value] of Object.entries(agent.env)) {
      expect(service.environment?.[key], key).toBe(value);
    }
  });

  it('every agent port appears in the README ports table', () => {
    const readme = readFileSync(join(workspaceRoot, 'README.md'), 'utf8');
    for (const agent of stackAgents)
      expect(readme).toMatch(new RegExp(`\\| ${agent.grpcPort} \\| gRPC \\| ${agent.name}`));
  });

  it('the Dockerfile builds every agent that compose runs', () => {
    const dockerfile = readFileSync(join(workspaceRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/nx run-many -t build --projects=tag:layer:app/);
    for (const agent of stackAgents) {
      const project = JSON.parse(
        readFileSync(join(workspaceRoot, 'apps', agent.project, 'project.json'), 'utf8'),
      );
      expect(project.tags).toContain('layer:app');
    }
  });
});
