// The independent reference for the tfjs importer's tests: TensorFlow.js itself (the pure-JS
// CPU backend) runs a model.json + shards from disk on an input .npy and writes each output.
// Usage:
//   node tfjs_reference.js run <tf.js bundle> <model.json> <input.npy> <out dir>
//   node tfjs_reference.js make-layers <tf.js bundle> <seq|func> <model dir> <input.npy> <out dir>
//     builds a small layers model with fixed weights, saves it as model.json + weights.bin
//     through tfjs's own save path, loads it back from disk and runs it like `run`.
//   node tfjs_reference.js unbundle <tf.js bundle> <model.min.js> <model dir>
//     nsfwjs ships model.json and each shard as browserify bundles (the shard a base64 string
//     in <shard>.min.js beside it): writes them out as model.json and the binary shards.
// Writes <out dir>/<i>.npy for each output and <out dir>/names.txt (one output name a line).
'use strict';
const fs = require('fs');
const path = require('path');

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not a .npy file');
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  if (!header.includes("'<f4'")) throw new Error(file + ': only float32 .npy is read');
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').map(s => s.trim())
                    .filter(s => s.length).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  for (let i = 0; i < count; ++i) data[i] = buf.readFloatLE(start + 4 * i);
  return {shape, data};
}

function writeNpy(file, shape, data) {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
      shape.join(', ') + (shape.length === 1 ? ',' : '') + '), }';
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(4 * data.length);
  for (let i = 0; i < data.length; ++i) body.writeFloatLE(data[i], 4 * i);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

// An IO handler that reads model.json and its shards from disk, as tfjs-node's file:// would.
function diskHandler(modelJson) {
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
      const specs = [];
      const buffers = [];
      for (const group of json.weightsManifest || []) {
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(path.dirname(modelJson), p)));
        specs.push(...group.weights);
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

async function runModel(tf, modelJson, inputFile, outDir) {
  const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const input = readNpy(inputFile);
  const x = tf.tensor(input.data, input.shape, 'float32');
  let outputs, names;
  if (json.format === 'layers-model' || (json.modelTopology && !json.modelTopology.node)) {
    const model = await tf.loadLayersModel(diskHandler(modelJson));
    outputs = model.predict(x);
    names = model.outputNames;
  } else {
    const model = await tf.loadGraphModel(diskHandler(modelJson));
    outputs = model.execute(x);
    names = model.outputNodes;
  }
  if (!Array.isArray(outputs)) outputs = [outputs];
  fs.mkdirSync(outDir, {recursive: true});
  for (let i = 0; i < outputs.length; ++i) {
    writeNpy(path.join(outDir, i + '.npy'), outputs[i].shape, await outputs[i].data());
  }
  fs.writeFileSync(path.join(outDir, 'names.txt'), names.map(n => n.split(':')[0]).join('\n') + '\n');
}

// Fixed, non-trivial weights (a small LCG): variances positive, everything else in [-0.5, 0.5].
function setWeights(tf, model) {
  let state = 12345;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  };
  for (const layer of model.layers) {
    const values = layer.getWeights().map((w, k) => {
      const name = layer.weights[k].name;
      const n = w.size;
      const data = new Float32Array(n);
      for (let i = 0; i < n; ++i) data[i] = name.includes('variance') ? 0.5 + next() : next();
      return tf.tensor(data, w.shape);
    });
    if (values.length) layer.setWeights(values);
  }
}

function buildSequential(tf) {
  const L = tf.layers;
  const m = tf.sequential();
  m.add(L.conv2d({batchInputShape: [null, null, null, 3], filters: 8, kernelSize: 3, padding: 'same',
                  activation: 'relu'}));
  m.add(L.batchNormalization({epsilon: 0.01}));
  m.add(L.depthwiseConv2d({kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same'}));
  m.add(L.reLU({maxValue: 6}));
  m.add(L.separableConv2d({filters: 12, kernelSize: 3, padding: 'valid', activation: 'sigmoid'}));
  m.add(L.maxPooling2d({poolSize: 2}));
  m.add(L.zeroPadding2d({padding: [[1, 0], [0, 1]]}));
  m.add(L.conv2dTranspose({filters: 6, kernelSize: 3, strides: 2, padding: 'same'}));
  m.add(L.averagePooling2d({poolSize: 3, strides: 1, padding: 'same'}));
  m.add(L.upSampling2d({size: [2, 2], interpolation: 'bilinear'}));
  m.add(L.leakyReLU({alpha: 0.2}));
  m.add(L.prelu({sharedAxes: [1, 2]}));
  m.add(L.conv2d({filters: 4, kernelSize: 2, strides: 2, activation: 'tanh'}));
  m.add(L.upSampling2d({size: [2, 2]}));
  m.add(L.globalAveragePooling2d({}));
  m.add(L.dense({units: 10, activation: 'tanh'}));
  m.add(L.dropout({rate: 0.5}));
  m.add(L.dense({units: 5}));
  m.add(L.softmax());
  return m;
}

function buildFunctional(tf) {
  const L = tf.layers;
  const input = tf.input({batchShape: [null, 12, 12, 4]});
  const a = L.conv2d({filters: 8, kernelSize: 3, padding: 'same'}).apply(input);
  const b = L.conv2d({filters: 8, kernelSize: 1, activation: 'relu'}).apply(input);
  const sum = L.add().apply([a, b]);
  const gate = L.activation({activation: 'sigmoid'}).apply(b);
  const prod = L.multiply().apply([sum, gate]);
  const cat = L.concatenate({axis: -1}).apply([prod, a]);
  const pooled = L.maxPooling2d({poolSize: 2}).apply(cat);
  const flat = L.flatten().apply(pooled);
  const dense = L.dense({units: 6}).apply(flat);
  const shaped = L.reshape({targetShape: [2, 3]}).apply(dense);
  const probs = L.softmax({axis: -1}).apply(shaped);
  const gmax = L.globalMaxPooling2d({}).apply(cat);
  return tf.model({inputs: input, outputs: [probs, gmax]});
}

async function makeLayers(tf, kind, modelDir, inputFile, outDir) {
  const model = kind === 'seq' ? buildSequential(tf) : buildFunctional(tf);
  setWeights(tf, model);
  fs.mkdirSync(modelDir, {recursive: true});
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    fs.writeFileSync(path.join(modelDir, 'weights.bin'), Buffer.from(artifacts.weightData));
    const json = {
      format: 'layers-model',
      generatedBy: 'TensorFlow.js tfjs-layers v' + tf.version.tfjs,
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{paths: ['weights.bin'], weights: artifacts.weightSpecs}],
    };
    fs.writeFileSync(path.join(modelDir, 'model.json'), JSON.stringify(json));
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  await runModel(tf, path.join(modelDir, 'model.json'), inputFile, outDir);
}

function unbundle(bundleJs, modelDir) {
  const model = require(path.resolve(bundleJs));
  fs.mkdirSync(modelDir, {recursive: true});
  for (const group of model.weightsManifest) {
    for (const p of group.paths) {
      const text = require(path.resolve(path.dirname(bundleJs), p + '.min.js'));
      fs.writeFileSync(path.join(modelDir, p), Buffer.from(text, 'base64'));
    }
  }
  const json = {format: 'layers-model', modelTopology: model.modelTopology,
                weightsManifest: model.weightsManifest};
  fs.writeFileSync(path.join(modelDir, 'model.json'), JSON.stringify(json));
}

async function main() {
  const [mode, bundle, ...rest] = process.argv.slice(2);
  const tf = require(path.resolve(bundle));
  await tf.setBackend('cpu');
  if (mode === 'run') return runModel(tf, ...rest);
  if (mode === 'make-layers') return makeLayers(tf, ...rest);
  if (mode === 'unbundle') return unbundle(...rest);
  throw new Error('usage: run | make-layers (see the header)');
}

main().catch(e => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
