// Prints the include dirs, library dirs or link flags for the libtorch the addon builds against.
// Default: Debian's libtorch-dev (/usr). Set LIBTORCH=/path/to/libtorch (the folder holding
// include/ and lib/, e.g. an unpacked CUDA build) to use another one; its lib/ goes into the rpath.
const path = require('node:path');
const root = process.env.LIBTORCH;
const what = process.argv[2];
if (root) {
  const inc = [path.join(root, 'include'), path.join(root, 'include/torch/csrc/api/include')];
  const lib = path.join(root, 'lib');
  if (what === 'include') console.log(inc.join(' '));
  else if (what === 'ldflags') console.log(`-L${lib} -Wl,-rpath,${lib}`);
  else if (what === 'libs') console.log('-ltorch -ltorch_cpu -lc10');
} else {
  if (what === 'include') console.log('/usr/include /usr/include/torch/csrc/api/include');
  else if (what === 'ldflags') console.log('');
  else if (what === 'libs') console.log('-ltorch -ltorch_cpu -lc10');
}
