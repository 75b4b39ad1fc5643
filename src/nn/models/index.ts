/** The model zoo: ResNets (torchvision-compatible) and a small CNN, behind one Classifier interface. */
export * from './spec.js';
export * from './classifier.js';
export * from './resnet.js';
export * from './small-cnn.js';
export * from './factory.js';
