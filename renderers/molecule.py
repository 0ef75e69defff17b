"""Molecule drawings with SMILES targets: the "molecular formulas" part of GOT's OCR-2.0 data engine
(Wei et al. 2024, "General OCR Theory": molecules drawn with RDKit, SMILES as the answer).

RDKit's ``MolDraw2DCairo`` draws one molecule of ``corpora.molecules`` per sample. Each sample first
draws every choice from the ``rng`` into a record (SynthTIGER's sample-then-apply split), then draws
from the record alone; ``meta`` is that record. What varies, as in real documents: bond length (and
so image size), line width, label font and font size, rotation, all hydrogens drawn or only those
on heteroatoms, aromatic rings as Kekulé bonds, circles or dashed bonds, CH3 written on terminal
methyls, colour palette or black and white, background tone, padding, stereo (R/S) annotations.

Label rule: the target is the SMILES of the drawn molecule with hydrogens implicit, written as the
picture shows its rings: a Kekulé drawing gets the Kekulé SMILES of exactly the bond pattern drawn,
a circle or dashed drawing gets aromatic SMILES. Atom order is canonical by default; with
``random_smiles`` it is an ``rng``-seeded permutation (recorded as ``smiles_seed``). ``validate``
checks that the target parses to the drawn molecule (canonical isomeric SMILES equal).
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pydantic
from PIL import Image
from rdkit import Chem, RDConfig, rdBase
from rdkit.Chem.Draw import rdMolDraw2D
from rdkit.Geometry import Point2D

from corpora.indexed import IndexedCorpus
from corpora.molecules import MoleculeItem, molecules
from renderers.base import PositiveIntRange, PositiveRange, Reject, RendererOptions, Sample

BUILTIN_FONT = "rdkit-builtin"
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path(RDConfig.RDDataDir) / "Fonts")
RDKIT_BOND_LENGTH = 1.5  # RDKit's 2D depictions use bonds of 1.5 coordinate units
AROMATIC_STYLES = ("kekule", "circle", "dashed")
PALETTES = ("default", "avalon", "cdk")

Probability = Annotated[float, pydantic.Field(ge=0.0, le=1.0)]


class Options(RendererOptions):
    """Ranges are ``(low, high)``, sampled uniformly; ``*_p`` are probabilities per sample."""

    fonts: tuple[str, ...] = (
        BUILTIN_FONT, "LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf", "LiberationSerif-Regular.ttf",
        "DejaVuSans.ttf", "DejaVuSansCondensed.ttf", "DejaVuSerif.ttf", "FreeSans.ttf", "FreeSerif.ttf",
        "Carlito-Regular.ttf", "NotoSans-Regular.ttf", "NotoSerif-Regular.ttf", "Telex-Regular.ttf",
    )  # file names searched under FONT_DIRS once per renderer; missing ones are skipped
    bond_length: PositiveRange = (22.0, 48.0)  # pixels
    image_size: PositiveIntRange = (160, 1024)  # each side is clamped to this range
    bond_line_width: PositiveRange = (1.0, 3.0)  # pixels
    base_font_size: PositiveRange = (0.45, 0.8)  # RDKit's label size relative to bond length
    min_font_size: PositiveIntRange = (9, 14)  # pixels
    padding: PositiveRange = (0.03, 0.15)  # fraction of the image on each side
    multiple_bond_offset: PositiveRange = (0.12, 0.2)
    rotation_p: Probability = 0.5  # else the depiction's own orientation
    explicit_h_p: Probability = 0.08
    explicit_h_max_atoms: int = pydantic.Field(16, ge=0)  # all-H drawings only for small molecules
    aromatic_weights: tuple[float, float, float] = (0.7, 0.2, 0.1)  # kekule, circle, dashed
    bw_p: Probability = 0.5
    explicit_methyl_p: Probability = 0.15
    deuterium_labels_p: Probability = 0.5  # D/T rather than 2H/3H
    stereo_annotation_p: Probability = 0.05
    background_p: Probability = 0.3  # off-white paper rather than pure white
    random_smiles_p: Probability = 0.0


    @pydantic.field_validator("aromatic_weights")
    @classmethod
    def _weights(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(value) < 0 or sum(value) <= 0:
            raise ValueError(f"expected weights >= 0 for {AROMATIC_STYLES}, sum > 0; found {value}")
        return value


def find_fonts(names: tuple[str, ...]) -> dict[str, str]:
    """Map each font file name found under ``FONT_DIRS`` to its path (first found wins), in the
    order of ``names``; ``BUILTIN_FONT`` maps to "" (RDKit's own font)."""
    wanted = set(names)
    found: dict[str, str] = {}
    for root in FONT_DIRS:
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for file in sorted(wanted.intersection(files)):
                found.setdefault(file, str(Path(folder) / file))
    found[BUILTIN_FONT] = ""
    return {name: found[name] for name in names if name in found}


class MoleculeRenderer:
    name = "molecule"
    markup = "smiles"
    task = "ocr"
    version = "3"
    Options = Options

    def __init__(self, options: Options, corpus_path: Path | None = None) -> None:
        self.options = options
        self.corpus: IndexedCorpus[MoleculeItem] = molecules(corpus_path)
        self.fonts = find_fonts(options.fonts)
        if not self.fonts:
            raise ValueError(f"none of the fonts {options.fonts} is {BUILTIN_FONT!r} or is under {FONT_DIRS}")
        self.font_names = tuple(self.fonts)

    # -- sample the record -------------------------------------------------------------------
    def sample_style(self, rng: np.random.Generator, mol: Chem.Mol) -> dict[str, Any]:
        o = self.options

        def uniform(bounds: tuple[float, float], digits: int = 3) -> float:
            return round(float(rng.uniform(*bounds)), digits)

        weights = np.asarray(o.aromatic_weights, dtype=float)
        weights /= weights.sum()
        small = mol.GetNumHeavyAtoms() <= o.explicit_h_max_atoms
        bw = bool(rng.random() < o.bw_p)
        palette = str(rng.choice(PALETTES))
        tone = uniform((0.9, 1.0)) if rng.random() < o.background_p else 1.0
        warmth = uniform((0.0, 0.04))
        rotate = rng.random() < o.rotation_p
        angle = uniform((0.0, 360.0), 1)
        explicit_h = bool(rng.random() < o.explicit_h_p) and small
        random_order = bool(rng.random() < o.random_smiles_p)
        smiles_seed = int(rng.integers(2**31))
        return {
            "font": self.font_names[int(rng.integers(len(self.font_names)))],
            "bond_length": uniform(o.bond_length, 1),
            "bond_line_width": uniform(o.bond_line_width, 2),
            "base_font_size": uniform(o.base_font_size),
            "min_font_size": int(rng.integers(o.min_font_size[0], o.min_font_size[1] + 1)),
            "padding": uniform(o.padding),
            "multiple_bond_offset": uniform(o.multiple_bond_offset),
            "rotation": angle if rotate else 0.0,
            "hydrogens": "explicit" if explicit_h else "implicit",
            "aromatic_style": AROMATIC_STYLES[int(rng.choice(len(AROMATIC_STYLES), p=weights))],
            "colour": "bw" if bw else palette,
            "background": [tone, tone, round(max(0.0, tone - warmth), 3)] if tone < 1 else [1.0, 1.0, 1.0],
            "explicit_methyl": bool(rng.random() < o.explicit_methyl_p),
            "deuterium_labels": bool(rng.random() < o.deuterium_labels_p),
            "stereo_annotation": bool(rng.random() < o.stereo_annotation_p),
            "smiles_order": "random" if random_order else "canonical",
            "smiles_seed": smiles_seed if random_order else None,
        }

    # -- apply it ----------------------------------------------------------------------------
    def render(self, rng: np.random.Generator) -> Sample:
        return self.draw(self.corpus.sample(rng), rng)

    def render_item(self, item: MoleculeItem, rng: np.random.Generator) -> list[Sample]:
        """A molecule is one part."""
        return [self.draw(item, rng)]

    def draw(self, item: MoleculeItem, rng: np.random.Generator) -> Sample:
        mol = Chem.MolFromSmiles(item.smiles)
        if mol is None:  # corpus items are checked at load; this only guards a hand-made corpus
            raise Reject("bad-smiles", item.smiles)
        style = self.sample_style(rng, mol)
        png, target, drawn = draw(mol, style, self.fonts[style["font"]], self.options.image_size)
        image = Image.open(io.BytesIO(png))  # RDKit's own PNG is written to the shard as it is
        meta = {
            "lang": "en",
            "corpus": self.corpus.source,
            "molecule": item.name,
            "smiles": item.smiles,
            "drawn_smiles": drawn,
            "label_rule": "kekule" if style["aromatic_style"] == "kekule" else "aromatic",
            "width": image.width,
            "height": image.height,
            **style,
        }
        return Sample([image], target, meta, png=[png])

    def validate(self, sample: Sample) -> None:
        """Reject a target that does not parse back to the molecule that was drawn."""
        parsed = Chem.MolFromSmiles(sample.target)
        label = Chem.MolToSmiles(parsed) if parsed is not None else None
        if label != sample.meta["drawn_smiles"]:
            drew = sample.meta["drawn_smiles"]
            raise Reject("label-not-faithful", f"{sample.target} parses to {label}, the image shows {drew}")


def draw(
    mol: Chem.Mol, style: dict[str, Any], font_path: str, size_range: tuple[int, int] = (160, 1024)
) -> tuple[bytes, str, str]:
    """Draw ``mol`` as ``style`` says: the PNG (RGB), the target SMILES, and the canonical SMILES
    of the molecule handed to the drawer (what ``validate`` compares the target with)."""
    shown = Chem.Mol(mol)
    if style["aromatic_style"] == "kekule":
        Chem.Kekulize(shown, clearAromaticFlags=True)  # the target then writes exactly these bonds
    target = _smiles(shown, style["smiles_seed"])
    if style["hydrogens"] == "explicit":
        shown = Chem.AddHs(shown)
    try:
        with rdBase.BlockLogs():
            prepared = rdMolDraw2D.PrepareMolForDrawing(shown, kekulize=False)
            drawn = Chem.MolToSmiles(Chem.MolFromSmiles(Chem.MolToSmiles(Chem.RemoveHs(prepared))))
            rings = _aromatic_rings(prepared) if style["aromatic_style"] == "circle" else []
            if rings:
                _single_bonds_for_circles(prepared)
            png = _draw_png(prepared, style, font_path, rings, _canvas(prepared, style, size_range))
    except (RuntimeError, ValueError) as err:
        raise Reject("draw-failed", f"{Chem.MolToSmiles(mol)}: {err}") from err
    return png, target, drawn


def _smiles(mol: Chem.Mol, seed: int | None) -> str:
    """Canonical SMILES, or with atoms in an order drawn from ``seed`` (never RDKit's global RNG)."""
    if seed is None:
        return Chem.MolToSmiles(mol)
    order = np.random.default_rng(seed).permutation(mol.GetNumAtoms())
    return Chem.MolToSmiles(Chem.RenumberAtoms(mol, [int(i) for i in order]), canonical=False)


def _aromatic_rings(mol: Chem.Mol) -> list[tuple[int, ...]]:
    """Atoms of the rings whose bonds are all aromatic (each gets a circle)."""
    info = mol.GetRingInfo()
    return [
        atoms for atoms, bonds in zip(info.AtomRings(), info.BondRings(), strict=True)
        if all(mol.GetBondWithIdx(b).GetIsAromatic() for b in bonds)
    ]


def _single_bonds_for_circles(mol: Chem.Mol) -> None:
    """Draw aromatic bonds as plain lines, the circle standing for the delocalised bonds. Hydrogen
    counts are pinned first so that atom labels (``NH`` in pyrrole) do not change."""
    for atom in mol.GetAtoms():
        if atom.GetIsAromatic():
            atom.SetNumExplicitHs(atom.GetTotalNumHs())
            atom.SetNoImplicit(True)
    for bond in mol.GetBonds():
        if bond.GetIsAromatic():
            bond.SetBondType(Chem.BondType.SINGLE)
            bond.SetIsAromatic(False)
    for atom in mol.GetAtoms():
        atom.SetIsAromatic(False)


def _canvas(mol: Chem.Mol, style: dict[str, Any], size_range: tuple[int, int]) -> tuple[int, int]:
    """Image size that fits the rotated depiction at the sampled bond length, plus labels and padding."""
    xy = mol.GetConformer().GetPositions()[:, :2]  # (atoms, 2)
    angle = math.radians(style["rotation"])
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    span = np.ptp(xy @ turn.T, axis=0) if len(xy) > 1 else np.zeros(2)
    scale = style["bond_length"] / RDKIT_BOND_LENGTH
    label = 1.6 * style["bond_length"]  # room for the labels at the edges
    low, high = size_range
    sides = (span * scale + label) / (1 - 2 * style["padding"])
    return tuple(int(min(max(side, low), high)) for side in sides)  # type: ignore[return-value]


def _draw_png(
    mol: Chem.Mol, style: dict[str, Any], font_path: str, rings: list[tuple[int, ...]], size: tuple[int, int]
) -> bytes:
    width, height = size
    drawer = rdMolDraw2D.MolDraw2DCairo(width, height)  # fresh per sample: options never leak across
    opts = drawer.drawOptions()
    opts.prepareMolsBeforeDrawing = False
    opts.includeMetadata = False
    if font_path:
        opts.fontFile = font_path
    opts.fixedBondLength = style["bond_length"]
    opts.bondLineWidth = style["bond_line_width"]
    opts.scaleBondWidth = False
    opts.baseFontSize = style["base_font_size"]
    opts.minFontSize = style["min_font_size"]
    opts.padding = style["padding"]
    opts.multipleBondOffset = style["multiple_bond_offset"]
    opts.rotate = style["rotation"]
    opts.explicitMethyl = style["explicit_methyl"]
    opts.atomLabelDeuteriumTritium = style["deuterium_labels"]
    opts.addStereoAnnotation = style["stereo_annotation"]
    opts.setBackgroundColour((*style["background"], 1.0))
    colour = style["colour"]
    if colour == "bw":
        opts.useBWAtomPalette()
    elif colour == "avalon":
        opts.useAvalonAtomPalette()
    elif colour == "cdk":
        opts.useCDKAtomPalette()
    drawer.DrawMolecule(mol)
    if rings:
        _draw_circles(drawer, rings, style["bond_line_width"])
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def _draw_circles(drawer: rdMolDraw2D.MolDraw2D, rings: list[tuple[int, ...]], width: float) -> None:
    """A circle inside each aromatic ring, in pixel coordinates of the finished layout."""
    drawer.SetColour((0.0, 0.0, 0.0))
    drawer.SetLineWidth(width)
    drawer.SetFillPolys(False)
    for ring in rings:
        points = np.array([[p.x, p.y] for p in (drawer.GetDrawCoords(i) for i in ring)])  # (ring atoms, 2)
        centre = points.mean(axis=0)
        radius = 0.62 * float(np.linalg.norm(points - centre, axis=1).mean())
        drawer.DrawArc(Point2D(*centre), radius, 0.0, 360.0, rawCoords=True)
