/** tsvision: the public TypeScript API. */
export * as cli from './cli/main';
