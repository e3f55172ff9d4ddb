/**
 * Neural-network building blocks: Module (parameters, buffers, state dicts), layers,
 * MMCV's ConvModule and initializers.
 *   import { Module, Conv2d, BatchNorm2d, ConvModule, init } from 'tsvision/nn';
 */
export { Module, type TensorModule, type StateDictSource, type LoadStateDictOptions, type LoadStateDictResult } from './module';
export { Conv2d, ConvTranspose2d, Linear, type Conv2dOptions, type ConvTranspose2dOptions, type Pair } from './conv';
export { BatchNorm2d, FrozenBatchNorm2d, GroupNorm, LayerNorm, isNormLayer, type BatchNormOptions } from './norm';
export { SyncBatchNorm, type SyncBatchNormOptions } from './sync_batchnorm';
export {
  ReLU, LeakyReLU, ReLU6, GELU, SiLU, Sigmoid, Tanh, Hardsigmoid, Hardswish, HSigmoid, ELU, Identity,
  buildActivationLayer, type ActivationConfig, type Activation,
} from './activation';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Upsample, Dropout, Dropout2d } from './pooling';
export { Sequential, ModuleList, ModuleDict } from './container';
export { ConvModule, buildNormLayer, type ConvModuleOptions, type ConvModuleOrder, type NormConfig, type NormLayer } from './conv_module';
export * as init from './init';
