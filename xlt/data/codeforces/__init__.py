"""Paper-scale data: CodeForces problems with tests and multi-language accepted submissions.

Modules, in the order the build uses them:
- `schema`: the exact Hub schemas (`datasets.Features`) and row checks;
- `load`: streaming readers (Hub through `datasets`, local Parquet or JSONL);
- `languages`: CodeForces compiler names -> xlt language codes;
- `problems`: a problem record, its prompt, its `io`-mode `Problem` per language
  (time limits scaled per language);
- `decontam`: n-gram and benchmark-name decontamination with a report;
- `store`: the SQLite spill store that keeps memory bounded;
- `parallel`: harvested and translated (MultiPL-T) programs, verified in `io` mode;
- `accounting`: counts of rows used and dropped, by reason;
- `build`: the whole streaming build, called by `xlt.stages.data_paper`.

See docs/data.md for the schemas, the choices and how to run it.
"""
