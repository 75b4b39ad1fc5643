/**
 * ResNet (He et al. 2016) with torchvision 0.14's exact module structure, names and
 * initialisation, so state dicts move between this project and `torchvision.models.resnet*`.
 * Extra options size it for small images and CPUs: `smallInput` (3x3 stride-1 stem, no
 * max-pool), `widthMultiplier` (base width 64*m) and `layers` (blocks per stage).
 */
import type { Tensor } from '../../torch/index.js';
import { ReLU, Identity } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv.js';
import { Linear } from '../layers/linear.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../layers/pooling.js';
import { Sequential } from '../layers/sequential.js';
import { constant_, kaimingNormal_ } from '../init.js';
import { forwardChain, Module, ModuleGroup } from '../module.js';
import { addShortcutRelu, joinResidual } from '../fusion.js';
import type { Classifier, NamedBlock } from './classifier.js';
import type { ModelSpec } from './spec.js';

function conv3x3(inC: number, outC: number, stride = 1): Conv2d {
  return new Conv2d({ inChannels: inC, outChannels: outC, kernelSize: 3, stride, padding: 1, bias: false });
}
function conv1x1(inC: number, outC: number, stride = 1): Conv2d {
  return new Conv2d({ inChannels: inC, outChannels: outC, kernelSize: 1, stride, bias: false });
}

/** Two 3x3 convolutions with a shortcut (ResNet-18/34). Keys: conv1, bn1, conv2, bn2, downsample.{0,1}. */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | undefined;
  readonly #branch: Module[];
  /** The branch without its last BN (training runs that BN fused with the join). */
  readonly #head: Module[];

  /** `downsample` is built by the caller before the block (torchvision's order of construction). */
  constructor(cfg: { inplanes: number; planes: number; stride?: number; downsample?: Sequential }) {
    super();
    this.conv1 = this.registerModule('conv1', conv3x3(cfg.inplanes, cfg.planes, cfg.stride ?? 1));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: cfg.planes }));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', conv3x3(cfg.planes, cfg.planes));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: cfg.planes }));
    this.downsample = cfg.downsample !== undefined ? this.registerModule('downsample', cfg.downsample) : undefined;
    this.#branch = [this.conv1, this.bn1, this.relu, this.conv2, this.bn2];
    this.#head = [this.conv1, this.bn1, this.relu, this.conv2];
  }
  /** The BN whose weight `zeroInitResidual` zeroes. */
  get lastBn(): BatchNorm2d {
    return this.bn2;
  }
  forward(x: Tensor): Tensor {
    // Evaluation: the chain folds bn2 into conv2.
    if (!this.bn2.usesBatchStats) return addShortcutRelu(forwardChain(x, this.#branch), x, this.downsample);
    return joinResidual(forwardChain(x, this.#head), this.bn2, x, this.downsample);
  }
}

/** 1x1 → 3x3 → 1x1 (x4 channels) with a shortcut (ResNet-50). Keys: conv1..3, bn1..3, downsample.{0,1}. */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly relu: ReLU;
  readonly downsample: Sequential | undefined;
  readonly #branch: Module[];
  /** The branch without its last BN (training runs that BN fused with the join). */
  readonly #head: Module[];

  constructor(cfg: { inplanes: number; planes: number; stride?: number; downsample?: Sequential }) {
    super();
    const width = cfg.planes;
    this.conv1 = this.registerModule('conv1', conv1x1(cfg.inplanes, width));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: width }));
    this.conv2 = this.registerModule('conv2', conv3x3(width, width, cfg.stride ?? 1));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: width }));
    this.conv3 = this.registerModule('conv3', conv1x1(width, cfg.planes * Bottleneck.expansion));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d({ numFeatures: cfg.planes * Bottleneck.expansion }));
    this.relu = this.registerModule('relu', new ReLU());
    this.downsample = cfg.downsample !== undefined ? this.registerModule('downsample', cfg.downsample) : undefined;
    this.#branch = [this.conv1, this.bn1, this.relu, this.conv2, this.bn2, this.relu, this.conv3, this.bn3];
    this.#head = [this.conv1, this.bn1, this.relu, this.conv2, this.bn2, this.relu, this.conv3];
  }
  get lastBn(): BatchNorm2d {
    return this.bn3;
  }
  forward(x: Tensor): Tensor {
    if (!this.bn3.usesBatchStats) return addShortcutRelu(forwardChain(x, this.#branch), x, this.downsample);
    return joinResidual(forwardChain(x, this.#head), this.bn3, x, this.downsample);
  }
}

/** Options of `ResNet` beyond the ModelSpec's. */
export interface ResNetConfig {
  /** Residual block type: 'basic' (ResNet-18/34) or 'bottleneck' (ResNet-50). */
  block: 'basic' | 'bottleneck';
  /** Blocks per stage, four entries (e.g. [2, 2, 2, 2] for ResNet-18). */
  layers: readonly number[];
  numClasses: number;
  /** 1 (grey) or 3 (RGB); any positive count is accepted. */
  inChannels?: number;
  /** 3x3 stride-1 stem conv and no max-pool, for 28-32 px images (default false). */
  smallInput?: boolean;
  /** Base width 64 * m, stage widths double from there (default 1). */
  widthMultiplier?: number;
  /** Zero the last BN weight of every block so each starts as identity (default false). */
  zeroInitResidual?: boolean;
  /** The spec recorded for this model (`createModel` passes its own). */
  spec?: ModelSpec;
}

/**
 * torchvision's ResNet. Keys: conv1, bn1, layer1..layer4 (Sequential of blocks), fc; the stem
 * (conv1, bn1, relu, maxpool) is exposed as the block `stem`.
 *
 * @example const m = new ResNet({ block: 'basic', layers: [2, 2, 2, 2], numClasses: 10 }); // resnet18
 */
export class ResNet extends Module implements Classifier {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly maxpool: MaxPool2d | Identity;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly featureDim: number;
  #fc: Linear;
  #spec: ModelSpec;
  readonly #stem: ModuleGroup;
  readonly #stemList: Module[];
  readonly #stages: Sequential[];
  /** Stem, stages and pooling in order: what `backbone` runs. */
  readonly #featureChain: Module[];

  constructor(cfg: ResNetConfig) {
    super();
    if (cfg.layers.length !== 4 || cfg.layers.some((n) => !Number.isInteger(n) || n < 1))
      throw new RangeError(`ResNet: layers must be 4 positive integers (blocks per stage), got ${JSON.stringify(cfg.layers)}`);
    const inChannels = cfg.inChannels ?? 3;
    const m = cfg.widthMultiplier ?? 1;
    if (!(m > 0)) throw new RangeError(`ResNet: widthMultiplier must be > 0, got ${m}`);
    const base = Math.max(1, Math.round(64 * m));
    const Block = cfg.block === 'basic' ? BasicBlock : Bottleneck;
    const small = cfg.smallInput ?? false;
    this.#spec = cfg.spec ?? {
      arch: cfg.block === 'basic' ? 'resnet18' : 'resnet50',
      numClasses: cfg.numClasses,
      inChannels,
      smallInput: small,
      widthMultiplier: m,
      layers: [...cfg.layers],
      zeroInitResidual: cfg.zeroInitResidual ?? false,
    };

    this.conv1 = this.registerModule(
      'conv1',
      small
        ? new Conv2d({ inChannels, outChannels: base, kernelSize: 3, stride: 1, padding: 1, bias: false })
        : new Conv2d({ inChannels, outChannels: base, kernelSize: 7, stride: 2, padding: 3, bias: false }),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: base }));
    this.relu = this.registerModule('relu', new ReLU());
    this.maxpool = this.registerModule('maxpool', small ? new Identity() : new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 }));
    let inplanes = base;
    const makeLayer = (planes: number, blocks: number, stride: number): Sequential => {
      let downsample: Sequential | undefined;
      if (stride !== 1 || inplanes !== planes * Block.expansion)
        downsample = new Sequential([
          conv1x1(inplanes, planes * Block.expansion, stride),
          new BatchNorm2d({ numFeatures: planes * Block.expansion }),
        ]);
      const list: Module[] = [new Block({ inplanes, planes, stride, downsample })];
      inplanes = planes * Block.expansion;
      for (let i = 1; i < blocks; i++) list.push(new Block({ inplanes, planes }));
      return new Sequential(list);
    };
    this.layer1 = this.registerModule('layer1', makeLayer(base, cfg.layers[0], 1));
    this.layer2 = this.registerModule('layer2', makeLayer(base * 2, cfg.layers[1], 2));
    this.layer3 = this.registerModule('layer3', makeLayer(base * 4, cfg.layers[2], 2));
    this.layer4 = this.registerModule('layer4', makeLayer(base * 8, cfg.layers[3], 2));
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d({ outputSize: 1 }));
    this.featureDim = base * 8 * Block.expansion;
    this.#fc = this.registerModule('fc', new Linear({ inFeatures: this.featureDim, outFeatures: cfg.numClasses }));

    // torchvision's re-initialisation, in module order (draws from the generator in the same order).
    for (const [, mod] of this.namedModules()) {
      if (mod instanceof Conv2d) kaimingNormal_(mod.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      else if (mod instanceof BatchNorm2d) {
        if (mod.weight !== undefined) constant_(mod.weight, 1);
        if (mod.bias !== undefined) constant_(mod.bias, 0);
      }
    }
    if (cfg.zeroInitResidual ?? false)
      for (const [, mod] of this.namedModules())
        if (mod instanceof BasicBlock || mod instanceof Bottleneck) {
          const w = mod.lastBn.weight;
          if (w !== undefined) constant_(w, 0);
        }

    this.#stemList = [this.conv1, this.bn1, this.relu, this.maxpool];
    this.#stem = new ModuleGroup([
      ['conv1', this.conv1],
      ['bn1', this.bn1],
      ['relu', this.relu],
      ['maxpool', this.maxpool],
    ]);
    this.#stages = [this.layer1, this.layer2, this.layer3, this.layer4];
    this.#featureChain = [...this.#stemList, ...this.#stages, this.avgpool];
  }

  get spec(): ModelSpec {
    return this.#spec;
  }
  get head(): Linear {
    return this.#fc;
  }
  /** The head under its torchvision name. */
  get fc(): Linear {
    return this.#fc;
  }

  backbone(x: Tensor): Tensor {
    const p = forwardChain(x, this.#featureChain);
    const f = p.flatten(1);
    p.dispose();
    return f;
  }

  forward(x: Tensor): Tensor {
    const f = this.backbone(x);
    const y = this.#fc.forward(f);
    f.dispose();
    return y;
  }

  blocks(): NamedBlock[] {
    const out: NamedBlock[] = [{ name: 'stem', module: this.#stem }];
    this.#stages.forEach((stage, si) => {
      for (const [n, b] of stage.namedChildren()) out.push({ name: `layer${si + 1}.${n}`, module: b });
    });
    return out;
  }

  replaceHead(numClasses: number): Linear {
    const fc = new Linear({ inFeatures: this.featureDim, outFeatures: numClasses });
    fc.train(this.training);
    this.#fc = this.replaceModule('fc', fc);
    this.#spec = { ...this.#spec, numClasses };
    return fc;
  }
}
