// binary-parser's package.json "exports" has no "types" entry, so NodeNext
// resolution finds its ESM build without declarations. Point the bare
// specifier at the shipped CommonJS declarations (types only; at run time
// tsx and vitest load the ESM build).
declare module 'binary-parser' {
  export * from 'binary-parser/dist/binary_parser.js';
}
