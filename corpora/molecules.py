"""Molecules as SMILES, offline: the molecules RDKit ships in its own data files, or the user's.

Default corpus: every SMILES and SDF molecule in RDKit's ``Data`` and ``Contrib`` folders listed in
``SOURCES`` (NCI's first 5,000, WEHI's PAINS test set, ChEMBL, ZINC and PubChem examples; about 18.3k
unique structures). ``mols.1000.pkl.gz`` is left out: it does not load ("Bad pickle format").

What is kept (``check_smiles``, applied to the default and to user corpora alike):

* RDKit parses and sanitises it, and it has no dummy (``*``) atoms;
* 3 to 60 heavy atoms in all, so a drawing at a few hundred pixels stays legible;
* one main fragment plus at most two small ones (counter-ions, water: 8 heavy atoms at most each),
  as salts are drawn in real documents;
* its SMILES is stable: the SMILES of its Kekulé form parses back to the same canonical SMILES (so
  a label written either way round-trips).

Items are deduplicated by canonical (isomeric) SMILES, first occurrence kept, in the fixed order of
``SOURCES``, so an index means the same molecule on every machine with the same RDKit version.
Building the default takes a few seconds (parsing ~20k SMILES twice), so the result is cached as
``$XDG_CACHE_HOME/gotforge/molecules-<rdkit version>-v<FILTER_VERSION>.smi`` (``~/.cache`` when the
variable is unset), written atomically; loading the cache takes milliseconds. If the cache cannot be
written the corpus is still built, only not kept.

User corpora: a ``.smi`` or ``.txt`` file of one molecule per line (SMILES, optionally a name after
whitespace), a ``.jsonl`` file of SMILES strings or ``{"smiles": ..., "name": ...}`` objects, or a
folder of ``.smi``/``.txt`` files read line by line. A line RDKit cannot parse is counted as
``bad-smiles``; the other reasons are named in ``check_smiles``.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import rdkit
from rdkit import Chem, RDConfig, rdBase

from corpora.base import BadItem, CorpusError
from corpora.indexed import IndexedCorpus, in_memory, open_corpus
from corpora.split import molecule_key

FILTER_VERSION = 1  # bump when check_smiles keeps a different set: it names the cache file
MIN_HEAVY_ATOMS = 3
MAX_HEAVY_ATOMS = 60
MAX_EXTRA_FRAGMENTS = 2
MAX_EXTRA_FRAGMENT_ATOMS = 8
USER_SUFFIXES = (".smi", ".txt")


@dataclasses.dataclass(frozen=True)
class MoleculeItem:
    """One molecule: its canonical isomeric SMILES and an optional name (an id in the source)."""

    smiles: str
    name: str = ""


@dataclasses.dataclass(frozen=True)
class Source:
    """One RDKit data file: ``kind`` is ``table`` (delimited text, columns by index) or ``sdf``."""

    path: str  # relative to RDKit's Data (``Data/...``) or Contrib (``Contrib/...``) folder
    kind: str = "table"
    smiles_columns: tuple[int, ...] = (0,)
    name_column: int | None = 1
    delimiter: str | None = None  # None: any whitespace
    skip_header: bool = False


SOURCES = (
    Source("Data/NCI/first_5K.smi"),
    Source("Data/Pains/test_data/wehi_mols.csv", delimiter=","),
    Source("Data/Pains/test_data/test_set3.txt", smiles_columns=(2,), name_column=3, delimiter="\t"),
    Source("Contrib/Fastcluster/cdk2.smi", smiles_columns=(1,), name_column=0),
    Source("Contrib/Fastcluster/testdata/cdk2.sdf", kind="sdf"),
    Source("Contrib/FreeWilson/data/CHEMBL2321810.smi"),
    Source("Contrib/FreeWilson/data/cmet_ligands.sdf", kind="sdf"),
    Source(
        "Contrib/NIBRSubstructureFilters/SubstructureFilter_HitTriaging_wPubChemExamples.csv",
        smiles_columns=(13, 15, 17, 19), name_column=None, delimiter=",", skip_header=True,
    ),
    Source("Contrib/PBF/testData/egfr.sdf", kind="sdf"),
    Source("Contrib/SA_Score/data/zim.100.txt", delimiter="\t", skip_header=True),
    Source("Contrib/fraggle/data/ChEMBL_11265_actives.smi"),
    Source("Contrib/mmpa/data/sample.smi"),
)


def check_smiles(smiles: str) -> str:
    """The canonical SMILES of a drawable molecule, or :class:`BadItem` saying why it is not one."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise BadItem("bad-smiles", f"RDKit cannot parse {smiles[:80]!r}")
    if any(atom.GetAtomicNum() == 0 for atom in mol.GetAtoms()):
        raise BadItem("dummy-atoms", f"{smiles[:80]!r} has * atoms")
    heavy = mol.GetNumHeavyAtoms()
    if heavy < MIN_HEAVY_ATOMS:
        raise BadItem("too-few-atoms", f"{heavy} heavy atoms, expected at least {MIN_HEAVY_ATOMS}")
    if heavy > MAX_HEAVY_ATOMS:
        raise BadItem("too-many-atoms", f"{heavy} heavy atoms, expected at most {MAX_HEAVY_ATOMS}")
    sizes = sorted((len(frag) for frag in Chem.GetMolFrags(mol)), reverse=True)
    if len(sizes) > 1 + MAX_EXTRA_FRAGMENTS or any(s > MAX_EXTRA_FRAGMENT_ATOMS for s in sizes[1:]):
        raise BadItem(
            "too-many-fragments",
            f"fragments of {sizes} atoms; expected one plus at most {MAX_EXTRA_FRAGMENTS} of "
            f"<= {MAX_EXTRA_FRAGMENT_ATOMS} atoms",
        )
    canonical = Chem.MolToSmiles(mol)
    kekule = Chem.Mol(mol)
    try:
        Chem.Kekulize(kekule, clearAromaticFlags=True)
    except Chem.KekulizeException as err:
        raise BadItem("unstable-smiles", f"{canonical}: cannot kekulize ({err})") from err
    written = Chem.MolToSmiles(kekule)
    again = Chem.MolFromSmiles(written)
    if again is None or Chem.MolToSmiles(again) != canonical:
        raise BadItem("unstable-smiles", f"{written} does not parse back to {canonical}")
    return canonical


def _parse_line(raw: Any) -> MoleculeItem:
    """A user item: ``SMILES [name]`` text, a JSON string, or ``{"smiles": ..., "name": ...}``."""
    _quiet = rdBase.BlockLogs()  # bad items are counted by reason with examples: no stderr noise
    if isinstance(raw, dict):
        smiles, name = raw.get("smiles"), raw.get("name") or ""
        if not isinstance(smiles, str):
            raise BadItem("no-smiles", f"expected a 'smiles' string, found keys {sorted(raw)}")
        return MoleculeItem(check_smiles(smiles.strip()), str(name))
    if not isinstance(raw, str):
        raise BadItem("not-a-string", f"expected SMILES text, found {type(raw).__name__}")
    if raw.lstrip().startswith("#"):
        raise BadItem("comment", raw.strip()[:80])
    if not raw.split():  # Unicode spaces only: not blank to the line index, but no SMILES either
        raise BadItem("empty-smiles", repr(raw[:20]))
    smiles, *name = raw.split(None, 1)
    return MoleculeItem(check_smiles(smiles), name[0].strip() if name else "")


def user_molecules(path: str | Path) -> IndexedCorpus[MoleculeItem]:
    """A user corpus: a ``.smi``/``.txt``/``.jsonl``/``.parquet`` file, or a folder of ``.smi``/``.txt``
    files."""
    return open_corpus(path, _parse_line, key=molecule_key, suffixes=USER_SUFFIXES, lines_in_folders=True)


def _source_rows(source: Source) -> Iterator[tuple[str, str]]:
    """``(smiles, name)`` pairs of one RDKit data file, in file order."""
    top, _, rest = source.path.partition("/")
    path = Path(RDConfig.RDDataDir if top == "Data" else RDConfig.RDContribDir) / rest
    if not path.exists():  # some RDKit builds ship without Contrib: use what there is
        return
    if source.kind == "sdf":
        for mol in Chem.SDMolSupplier(str(path)):  # stereo is assigned from the 3D coordinates
            if mol is not None:
                yield Chem.MolToSmiles(mol), mol.GetProp("_Name") if mol.HasProp("_Name") else ""
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    if source.delimiter == ",":
        rows: Iterable[list[str]] = csv.reader(io.StringIO(text))
    else:
        rows = (line.split(source.delimiter) for line in text.splitlines())
    for number, row in enumerate(rows):
        if (source.skip_header and number == 0) or not row or row[0].startswith("#"):
            continue
        name_col = source.name_column
        name = row[name_col].strip() if name_col is not None and name_col < len(row) else ""
        for column in source.smiles_columns:
            if column < len(row) and row[column].strip():
                yield row[column].strip(), name


def build_default() -> list[MoleculeItem]:
    """Parse, filter and deduplicate RDKit's shipped molecules (a few seconds; see the cache)."""
    seen: set[str] = set()
    items: list[MoleculeItem] = []
    _quiet = rdBase.BlockLogs()  # the shipped files hold a few unparsable rows; they are expected
    for source in SOURCES:
        for smiles, name in _source_rows(source):
            try:
                canonical = check_smiles(smiles)
            except BadItem:
                continue
            if canonical not in seen:
                seen.add(canonical)
                items.append(MoleculeItem(canonical, name))
    return items


def cache_path() -> Path:
    """Where the built default corpus is kept (XDG base directory convention)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "gotforge" / f"molecules-{rdkit.__version__}-v{FILTER_VERSION}.smi"


def _write_cache(path: Path, items: list[MoleculeItem]) -> None:
    text = "".join(f"{item.smiles}\t{item.name}\n" for item in items)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
            tmp.write(text)
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, path)  # atomic: concurrent workers never see half a file
    except OSError:
        pass  # a read-only home only costs the rebuild next time


def _read_cache(path: Path) -> list[MoleculeItem] | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    items = [MoleculeItem(*line.split("\t", 1)) for line in lines if line]
    return items or None


@functools.lru_cache(maxsize=1)
def default_molecules() -> IndexedCorpus[MoleculeItem]:
    """The built-in corpus: RDKit's shipped molecules, loaded from the cache or built once."""
    path = cache_path()
    items = _read_cache(path)
    if items is None:
        items = build_default()
        _write_cache(path, items)
    if not items:
        raise CorpusError(
            f"no molecule found in RDKit's data folder {RDConfig.RDDataDir}; "
            f"reinstall rdkit or pass --corpus with a .smi file"
        )
    version = f"{rdkit.__version__}-v{FILTER_VERSION}"
    raw = ((f"{path}:{number}", item) for number, item in enumerate(items, start=1))
    return in_memory(f"rdkit-data-{version}", raw, _checked, key=molecule_key, fingerprint=f"rdkit-molecules-{version}")


def _checked(item: MoleculeItem) -> MoleculeItem:
    """A built-in item: checked when the cache was built."""
    return item


def molecules(corpus_path: str | Path | None) -> IndexedCorpus[MoleculeItem]:
    """User molecules if a path is given, else RDKit's shipped molecules."""
    return user_molecules(corpus_path) if corpus_path is not None else default_molecules()
