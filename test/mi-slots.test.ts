/**
 * How the pool's threads share one kernel memory: each thread keeps one scratch slot (claimSlot), and the
 * positions are cut into chunks on multiples of the kernel's query block (Engine.chunkBounds).
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/mi/engine.js';
import { claimSlot } from '../src/mi/kernel.js';

describe('kernel slots and chunks', () => {
  it('gives each thread one slot, the same on every call, and refuses a thread past the last slot', () => {
    const claims = new Int32Array(new SharedArrayBuffer(3 * 4));
    expect([claimSlot(claims, 7), claimSlot(claims, 9), claimSlot(claims, 7), claimSlot(claims, 11), claimSlot(claims, 9)]).toEqual([0, 1, 0, 2, 1]);
    expect(Array.from(claims)).toEqual([7, 9, 11]);
    expect(() => claimSlot(claims, 12)).toThrow(/no free kernel slot for thread 12 \(3 slots\)/);
  });

  it('cuts chunks on multiples of the block, covering every position once', () => {
    for (const [workers, n, block] of [[2, 30000, 1024], [2, 2500, 1024], [4, 100000, 1024], [1, 1000, 1024], [2, 5000, 128]] as const) {
      const bounds = new Engine(workers).chunkBounds(n, block);
      expect(bounds[0]).toBe(0);
      expect(bounds[bounds.length - 1]).toBe(n);
      for (let c = 1; c < bounds.length; c++) expect(bounds[c]).toBeGreaterThan(bounds[c - 1]);
      for (const b of bounds.slice(1, -1)) expect(b % block).toBe(0);
    }
    // enough chunks to balance the pool where the blocks allow it: 30,000 positions are 29 whole blocks and a part
    expect(new Engine(2).chunkBounds(30000, 1024).length - 1).toBe(29);
  });
});
