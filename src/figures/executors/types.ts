/**
 * What an executor is handed by the figure runner, and what it hands back. An executor trains a figure's runs
 * somewhere (child processes here, a Slurm job array) into their run directories; the runner then reads those
 * directories and draws the figure the same way whichever executor ran them.
 */

/** One run of a figure, ready to execute. */
export interface ExecRun {
  /** the run's name, unique within the figure (its directory under `<figureDir>/runs/`) */
  name: string;
  /** its run directory, absolute */
  dir: string;
  /** epochs it records when finished, counting epoch 0 */
  totalEpochs: number;
  /** the arguments after `node <cli>` that train it into `dir` and, run again, resume it (`--resume`) */
  args: string[];
}

/** Where a run ended up: finished, failed (with why), or still queued or running on the scheduler. */
export interface ExecOutcome {
  name: string;
  status: 'done' | 'failed' | 'queued';
  error?: string;
}

/** The progress callbacks an executor reports to (the figure runner's FigureProgress has this shape). */
export interface ExecProgress {
  runStart(run: string, totalEpochs: number, doneEpochs: number): void;
  epoch(run: string, row: { epoch: number }, totalEpochs: number): void;
  runEnd(run: string, status: 'done' | 'skipped' | 'failed', error?: string): void;
  note(message: string): void;
}
