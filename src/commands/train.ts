/**
 * `infoflow train`: one Hodas & Stinis run into a run directory (docs/ARCHITECTURE.md "Run directories").
 * `--json`: one JSON object per epoch on stdout (the metrics row + the run name) and nothing else there.
 * Notes and the progress bar (TTY only) go to stderr.
 */
import type { Command } from 'commander';
import { BACKENDS } from '../backend.js';
import { ARCHS, DEPTH_RANGE, WIDTH_RANGE } from '../models/hodas.js';
import { createProgress, type Progress } from '../progress.js';
import { DEFAULTS, trainRun } from '../train/index.js';

interface TrainOptions {
  arch: string;
  width: string;
  depth: string;
  seed: string;
  epochs: string;
  out: string;
  batchSize?: string;
  lr: string;
  split: string;
  backend: string;
  miEvery: string;
  miWorkers: string;
  miSamples?: string;
  k: string;
  bnEval: string;
  bnEvalVariant: string;
  miVariantSamples: string;
  miDense: string;
  miBandSplits: string;
  untilPlateau?: boolean;
  miLayers: string;
  miErrorBars?: boolean;
  miBaseline?: string | boolean;
  resume?: boolean;
  force?: boolean;
  dumpActivations?: string;
  limitTrain?: string;
  limitVal?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train one Hodas & Stinis network on MNIST, recording errors and MI(first; last hidden layer) every epoch')
    .option('--arch <name>', `architecture: ${ARCHS.join(', ')}`, DEFAULTS.arch)
    .option('--width <W>', `width W (first and last hidden layers are 2W), ${WIDTH_RANGE.join('..')}`, String(DEFAULTS.width))
    .option('--depth <L>', `hidden layers, ${DEPTH_RANGE.join('..')}`, String(DEFAULTS.depth))
    .option('--seed <S>', 'seed of the weight initialisation (and minibatch order)', String(DEFAULTS.seed))
    .option('--epochs <E>', 'epochs to train (epoch 0, the untrained net, is recorded too)', String(DEFAULTS.epochs))
    .requiredOption('--out <dir>', 'run directory (config.json, metrics.csv/.jsonl, checkpoint/, activations/)')
    .option('--batch-size <B>', "minibatch size (default: full batch, one step per epoch, as the paper)")
    .option('--lr <rate>', 'RMSprop learning rate', String(DEFAULTS.lr))
    .option('--split <name>', 'paper (train 40,000 / validation 30,000) or mnist (60,000 / 10,000)', DEFAULTS.split)
    .option('--backend <name>', `${BACKENDS.join(', ')}`, DEFAULTS.backend)
    .option('--mi-every <N>', 'estimate the MI every N epochs (and at the last one); 0: never', String(DEFAULTS.miEvery))
    .option('--mi-workers <N>', 'threads of the MI estimator', String(DEFAULTS.miWorkers))
    .option('--mi-samples <N>', 'estimate the MI over the first N validation images only (default: all; the KSG cost grows ~N^2 in 128 dims)')
    .option('--k <k>', 'neighbours of the KSG estimator', String(DEFAULTS.k))
    .option('--bn-eval <mode>', "BatchNorm at evaluation: 'batch' (the evaluated set's statistics) or 'moving' (moving averages, as Keras)", DEFAULTS.bnEval)
    .option('--bn-eval-variant <mode>', "also record the validation error and MI under this other mode (valErrorVariant, miVariant), or 'none'", DEFAULTS.bnEvalVariant)
    .option('--mi-variant-samples <N>', "the variant's MI over the first N validation images", String(DEFAULTS.miVariantSamples))
    .option('--mi-dense <E>', 'MI at every epoch up to E, then every --mi-every', String(DEFAULTS.miDense))
    .option('--mi-band-splits <S>', "MI also over S disjoint subsamples: the MI's noise band (miBand, bits); 0: none", String(DEFAULTS.miBandSplits))
    .option('--until-plateau', 'stop when the validation error gained < 0.1 points over the last 20 % of epochs (from epoch 50); --epochs is the cap')
    .option('--mi-layers <pairs>', "the pairs of hidden layers whose MI each MI epoch records: first-last (the metrics row), adjacent or all (mi-layers.csv)", DEFAULTS.miLayers)
    .option('--mi-error-bars', 'error bars (Holmes & Nemenman 2019, 2..10 disjoint subsamples) on each pair in mi-layers.csv')
    .option('--mi-baseline [P]', "also the MI of first vs P shuffles of last (default 1) per MI epoch: miBaseline, the estimator's bias floor")
    .option('--dump-activations <epochs>', "write activations/epoch-E-{first,last}.npy for these epochs, e.g. '0,10,last'")
    .option('--limit-train <N>', 'use only the first N training images (quick runs, tests)')
    .option('--limit-val <N>', 'use only the first N validation images')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--force', 'start again in a non-empty --out (deletes its run files)')
    .option('--json', 'one JSON line per epoch on stdout')
    .option('--quiet', 'no progress bar and no notes on stderr')
    .action(async (o: TrainOptions) => {
      let bar: Progress | null = null;
      const note = (line: string) => {
        if (o.quiet) return;
        if (bar) bar.log(line);
        else process.stderr.write(`${line}\n`);
      };
      await trainRun(
        {
          arch: o.arch,
          width: o.width,
          depth: o.depth,
          seed: o.seed,
          epochs: o.epochs,
          out: o.out,
          batchSize: o.batchSize ?? null,
          lr: o.lr,
          split: o.split,
          backend: o.backend,
          miEvery: o.miEvery,
          miWorkers: o.miWorkers,
          miSamples: o.miSamples ?? null,
          k: o.k,
          bnEval: o.bnEval,
          bnEvalVariant: o.bnEvalVariant,
          miVariantSamples: o.miVariantSamples,
          miDense: o.miDense,
          miBandSplits: o.miBandSplits,
          untilPlateau: Boolean(o.untilPlateau),
          miLayers: o.miLayers,
          miErrorBars: Boolean(o.miErrorBars),
          miBaseline: o.miBaseline ?? 0,
          dumpActivations: o.dumpActivations ?? '',
          limitTrain: o.limitTrain ?? null,
          limitVal: o.limitVal ?? null,
        },
        {
          onLog: note,
          onStart: ({ run, epochs, startEpoch }) => {
            bar = createProgress({
              label: run,
              total: epochs + 1,
              quiet: o.quiet,
              json: o.json,
              format: '{label} |{bar}| epoch {epoch}/{epochs} | loss {loss} | val err {err} | MI {mi} | ETA {eta_formatted}',
            });
            bar.update(startEpoch, { epoch: String(startEpoch), epochs: String(epochs) });
          },
          onEpoch: (row, { run, layers }) => {
            if (o.json) process.stdout.write(`${JSON.stringify({ run, ...row, ...(layers ? { miLayers: layers } : {}) })}\n`);
            bar?.update(row.epoch + 1, { epoch: String(row.epoch), loss: row.trainLoss, err: row.valError, mi: row.mi });
          },
        },
        { resume: o.resume, force: o.force },
      ).finally(() => {
        (bar as Progress | null)?.stop();
      });
    });
}
