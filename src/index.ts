/** The library's public surface. */
export * from './errors.js';
