// Run one MicroPython script on the WebAssembly port: a 32-bit VM
// (sys.maxsize 2**31 - 1), like every board we ship to.
//
//   node run.mjs [--heapsize BYTES] [--copy HOSTDIR=VMDIR]... [--path VMDIR]...
//                [--cwd VMDIR] [--then CODE]... SCRIPT [ARG...]
//
// --copy puts a host directory's files into the VM's in-memory file system
// (the port has no access to the host's), --path lists sys.path in order,
// --cwd is where the script starts (also copied there: SCRIPT's directory).
// stdout and stderr pass through; the exit status is the script's
// sys.exit() status, 1 for an uncaught exception.
//
// --then runs CODE in the script's globals after it, each as a call of its
// own from here: the port collects garbage only then, between top-level
// calls (gc.collect() inside a call just asks for it: ports/webassembly/
// main.c), so a script measuring its heap does each step in its own call.
//
// The port has no _thread and no socket, and its asyncio rides the JS
// event loop: the script runs with runPythonAsync, so asyncio.run() is not
// there; tests/mp/unit.py's run() drives a coroutine instead.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMicroPython } from '@micropython/micropython-webassembly-pyscript';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const usage = 'usage: node run.mjs [--heapsize N] [--copy HOST=VM]... '
  + '[--path VM]... [--cwd VM] SCRIPT [ARG...]';

function parse(argv) {
  const opt = { heapsize: 2 * 1024 * 1024, copies: [], paths: [], cwd: null,
    then: [] };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('--'); i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(usage);
    if (name === '--heapsize') opt.heapsize = parseInt(value, 10);
    else if (name === '--copy') opt.copies.push(value.split('='));
    else if (name === '--path') opt.paths.push(value);
    else if (name === '--cwd') opt.cwd = value;
    else if (name === '--then') opt.then.push(value);
    else throw new Error(usage);
  }
  if (i >= argv.length) throw new Error(usage);
  opt.script = argv[i];
  opt.args = argv.slice(i + 1);
  return opt;
}

function copyTree(FS, host, vm) {
  FS.mkdirTree(vm);
  for (const entry of fs.readdirSync(host, { withFileTypes: true })) {
    const src = path.join(host, entry.name);
    const dst = vm + '/' + entry.name;
    if (entry.isDirectory()) {
      if (entry.name !== '__pycache__') copyTree(FS, src, dst);
    } else if (entry.isFile()) {
      FS.writeFile(dst, fs.readFileSync(src));
    }
  }
}

// Runs in the VM: the script as __main__ would, with its exit status kept
// in a global (a SystemExit must not end the JS side before we read it).
const DRIVER = `
import sys
_pw_globals = {}
def _pw_main(script, argv_json):
    import json
    args, paths = json.loads(argv_json)
    sys.path[:] = paths
    sys.argv[:] = [script] + args
    status = 0
    try:
        with open(script) as f:
            code = compile(f.read(), script, 'exec')
        _pw_globals.update({'__name__': '__main__', '__file__': script})
        exec(code, _pw_globals)
    except SystemExit as e:
        code = e.args[0] if e.args else 0
        if code is None:
            status = 0
        elif isinstance(code, int):
            status = code
        else:
            print(code, file=sys.stderr)
            status = 1
    except BaseException as e:
        sys.print_exception(e, sys.stderr)
        status = 1
    return status
def _pw_then(code):
    try:
        exec(code, _pw_globals)
    except BaseException as e:
        sys.print_exception(e, sys.stderr)
        return 1
    return 0
`;

async function main() {
  const opt = parse(process.argv.slice(2));
  const out = [];
  const err = [];
  const mp = await loadMicroPython({
    heapsize: opt.heapsize,
    linebuffer: false,
    stdout: (b) => out.push(b[0]),
    stderr: (b) => err.push(b[0]),
  });
  const flush = () => {
    if (out.length) process.stdout.write(Buffer.from(out.splice(0)));
    if (err.length) process.stderr.write(Buffer.from(err.splice(0)));
  };
  for (const [host, vm] of opt.copies) copyTree(mp.FS, host, vm);
  const script = path.posix.join(opt.cwd || '/', path.basename(opt.script));
  mp.FS.mkdirTree(opt.cwd || '/');
  mp.FS.writeFile(script, fs.readFileSync(opt.script));
  if (opt.cwd) mp.FS.chdir(opt.cwd);
  mp.runPython(DRIVER);
  let status;
  try {
    status = mp.globals.get('_pw_main')(
      script, JSON.stringify([opt.args, opt.paths]));
    for (const code of opt.then) {
      if (status !== 0) break;
      flush();
      status = mp.globals.get('_pw_then')(code);
    }
  } catch (e) { // a failure of the VM itself, not of the script
    flush();
    process.stderr.write(String(e && e.message || e) + '\n');
    status = 2;
  }
  flush();
  process.exitCode = typeof status === 'number' ? status : 2;
}

await main();
