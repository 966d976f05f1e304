/**
 * `infoflow train-dvcnn`: one DVCNN run (Unterthiner & Hochreiter) into a run directory, as `train` does for
 * the Hodas & Stinis networks. `--json`: one JSON object per epoch on stdout (the metrics row + the run name)
 * and nothing else there; notes and the progress bar (TTY only) go to stderr.
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { BACKENDS, parseBackend } from '../backend.js';
import { BACKGROUNDS } from '../data/background.js';
import { usageError } from '../errors.js';
import { ACTIVATIONS, MAX_DEPTH, TRIANGLES } from '../models/dvcnn.js';
import { createProgress, type Progress } from '../progress.js';
import { CENTER_MODES, DEFAULT_DVCNN_TRAIN as D, type DvcnnTrainConfig, LR_SCALINGS, STOP_RULES } from '../train/dvcnn-config.js';
import { trainDvcnn } from '../train/dvcnn.js';

type Options = Partial<Record<keyof DvcnnTrainConfig, string>> & {
  out: string;
  backend: string;
  resume?: boolean;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
};

export function registerTrainDvcnnCommand(program: Command): void {
  program
    .command('train-dvcnn')
    .description('train one deep volume-conserving network (DVCNN) on MNIST with a random background, recording errors every epoch and per-layer statistics before and after')
    .option('--width <W>', 'units per layer = input features: 784 (28x28), 196 (2x2 block means) or 49 (4x4)', String(D.width))
    .option('--depth <L>', `volume-conserving layers, 1..${MAX_DEPTH}`, String(D.depth))
    .option('--activation <name>', ACTIVATIONS.join(', '), D.activation)
    .option('--triangle <name>', `weight mask per layer: ${TRIANGLES.join(', ')}`, D.triangle)
    .option('--bias-init <b>', 'initial value of every hidden bias', String(D.biasInit))
    .option('--weight-std <s>', 'std of the initial hidden weights (default 1/sqrt(width))')
    .option('--weight-mean <m>', 'mean of the initial hidden weights (the model draws them zero-mean)', String(D.weightMean))
    .option('--seed <S>', 'seed of the weights and the minibatch order', String(D.seed))
    .option('--background <name>', `${BACKGROUNDS.join(' or ')}: digits over uniform noise, or on black`, D.background)
    .option('--data-seed <S>', 'seed of the background noise', String(D.dataSeed))
    .option('--limit-train <N>', 'use only the first N of the 10,000 training images')
    .option('--limit-val <N>', 'use only the first N of the 2,000 validation images')
    .option('--limit-test <N>', 'test error on the first N of the 50,000 test images after the last epoch (test.json); 0: none', String(D.limitTest))
    .option('--epochs <E>', 'epochs to train, the most with --stop plateau (epoch 0, the untrained net, is recorded too)', String(D.epochs))
    .option('--stop <rule>', `${STOP_RULES.join(' or ')}: run all --epochs, or stop once the validation error gained < 0.1 points over the last 20 % of epochs (from epoch 10)`, D.stop)
    .option('--lr <rate>', 'SGD learning rate (after --lr-start-epochs, when given)', String(D.lr))
    .option('--lr-start <rate>', 'SGD rate of the first --lr-start-epochs epochs (a large one removes the drift; docs/DVCNN.md)')
    .option('--lr-start-epochs <N>', 'epochs at --lr-start before --lr')
    .option('--batch-size <B>', 'minibatch size', String(D.batchSize))
    .option('--probe <N>', 'validation images whose per-layer statistics are recorded', String(D.probe))
    .option('--lr-scaling <mode>', `per-layer rates: ${LR_SCALINGS.join(', ')} (moment: lr * min(1, m_0 / m_l), m_l the mean square of layer l's input)`, D.lrScaling)
    .option('--clip-norm <c>', "clip each layer's gradient to this L2 norm (default: no clipping)")
    .option('--center <mode>', `centred parametrisation: ${CENTER_MODES.join(', ')} (all: every layer's input minus its mean on the untrained net)`, D.center)
    .requiredOption('--out <dir>', 'run directory (config.json, metrics.csv/.jsonl, layer-stats-epoch-E.json, checkpoint/)')
    .option('--backend <name>', BACKENDS.join(', '), 'auto')
    .option('--resume', 'continue the run in --out from its last checkpoint (refused if its config differs)')
    .option('--force', 'start again in a non-empty --out (deletes its run files)')
    .option('--json', 'one JSON line per epoch on stdout')
    .option('--quiet', 'no progress bar and no notes on stderr')
    .action(async (o: Options) => {
      if (o.resume && o.force) throw usageError('--resume/--force', 'choose one: continue the run, or start it again');
      const { out, backend, resume, force, json, quiet, ...config } = o;
      const run = basename(out);
      const epochs = Number(config.epochs);
      let bar: Progress | null = null;
      const note = (line: string) => {
        if (quiet) return;
        if (bar) bar.log(line);
        else process.stderr.write(`${line}\n`);
      };
      bar = createProgress({
        label: run,
        total: epochs + 1,
        quiet,
        json,
        format: '{label} |{bar}| epoch {epoch}/{epochs} | loss {loss} | train err {err} | ETA {eta_formatted}',
      });
      try {
        await trainDvcnn(config, {
          outDir: out,
          backend: parseBackend(backend),
          resume,
          force,
          onLog: note,
          onEpoch: (row) => {
            if (json) process.stdout.write(`${JSON.stringify({ run, ...row })}\n`);
            bar?.update(row.epoch + 1, { epoch: String(row.epoch), epochs: String(epochs), loss: row.trainLoss, err: row.trainError });
          },
        });
      } finally {
        bar.stop();
      }
    });
}
