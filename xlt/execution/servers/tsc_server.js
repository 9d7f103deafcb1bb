// A persistent tsc: one Node process type-checks and emits many programs, reusing
// the parsed standard library between them (xlt.execution.accel). Options are the
// ones `tsc --target esnext <file>` derives from its command line, so the verdict
// (exit status 0, or 2 when a diagnostic is reported; the JS is emitted either way)
// matches one `tsc` per program. Protocol, one request per line on stdin: the
// absolute path of a .ts file. Reply: "<exit code> <byte count>\n" + diagnostics.
const ts = require(process.argv[2] || "typescript"); // the typescript package folder
const path = require("path");
const readline = require("readline");

const libCache = new Map(); // file name -> SourceFile, for files outside the program's folder

function compile(file) {
  const parsed = ts.parseCommandLine(["--target", "esnext", file]);
  // The default library never has errors of its own; not re-checking it for every
  // program is where the time goes (errors in the program's file are still reported).
  parsed.options.skipDefaultLibCheck = true;
  const host = ts.createCompilerHost(parsed.options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, onError, shouldCreate) => {
    if (name.startsWith(host.getDefaultLibLocation())) {
      const key = name + "|" + JSON.stringify(languageVersion);
      if (!libCache.has(key)) libCache.set(key, getSourceFile(name, languageVersion, onError, shouldCreate));
      return libCache.get(key);
    }
    return getSourceFile(name, languageVersion, onError, shouldCreate);
  };
  // A program can name other .ts files (`/// <reference path>`, imports); tsc would emit
  // their .js next to them, through any symlink planted there. Only the program's own
  // folder is written; anything else is a compile error.
  const folder = path.dirname(path.resolve(file)) + path.sep;
  const outside = [];
  const writeFile = host.writeFile.bind(host);
  host.writeFile = (name, data, ...rest) => {
    if (path.resolve(name).startsWith(folder)) writeFile(name, data, ...rest);
    else outside.push(name);
  };
  const program = ts.createProgram(parsed.fileNames, parsed.options, host);
  const emitted = program.emit();
  const diagnostics = ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics);
  let text = ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => path.dirname(file),
    getNewLine: () => "\n",
  });
  const errors = diagnostics.some((d) => d.category === ts.DiagnosticCategory.Error);
  if (outside.length) {
    text += outside.map((name) => `tsc server: not written (outside the program's folder): ${name}\n`).join("");
    return [1, text];
  }
  return [emitted.emitSkipped ? 1 : errors ? 2 : 0, text];
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (file) => {
  let code, text;
  try {
    [code, text] = compile(file);
  } catch (error) {
    [code, text] = [1, "tsc server: " + String(error)];
  }
  const bytes = Buffer.from(text, "utf8");
  process.stdout.write(`${code} ${bytes.length}\n`);
  process.stdout.write(bytes);
});
