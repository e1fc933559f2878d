"""Exercise checks for lesson 04, the SPADE generator (``notebooks/04_generator.ipynb``).

1. the start grid (easy)
2. the parameters of a SPADE residual block, by formula (easy)
3. the generator's forward pass, by hand (medium)
4. a cheaper generator (open, no check)

    from spade_lib.exercises.lesson04 import check_start_grid
    check_start_grid(start_grid)              # prints ✅ or ❌ with a hint
    spade_lib.exercises.show_solution(4, 1)   # only when stuck

Every ``check_*`` returns a :class:`~spade_lib.exercises.Result`: it prints a pass or a hint and never raises.
"""
import copy

import torch
import torch.nn.functional as F

from . import Result, call_student, compare_tensors, hint, passed

NUM_UPSAMPLINGS = {"normal": 5, "more": 6, "most": 7}

# ----------------------------------------------------------------------------------------------------------------
# Exercise 1: the start grid


START_GRID_CASES = [  # (width, aspect_ratio, upsampling)
    (256, 1.0, "normal"),  # ADE20K, COCO-Stuff: 8 x 8
    (512, 2.0, "more"),  # Cityscapes: 4 x 8
    (256, 1.0, "most"),  # 2 x 2
    (1024, 2.0, "normal"),  # 16 x 32
    (384, 1.5, "normal"),  # sw = 12, sh = 8
    (64, 1.0, "normal"),  # 2 x 2
]


def expected_start_grid(width, aspect_ratio, upsampling):
    sw = width // 2 ** NUM_UPSAMPLINGS[upsampling]
    return round(sw / aspect_ratio), sw


def check_start_grid(start_grid) -> Result:
    """Exercise 1: ``start_grid(width, aspect_ratio, upsampling)`` returns the generator's start grid (sh, sw)."""
    for width, aspect_ratio, upsampling in START_GRID_CASES:
        case = f"start_grid({width}, {aspect_ratio}, {upsampling!r})"
        answer, problem = call_student(start_grid, width, aspect_ratio, upsampling, call=case)
        if problem is not None:
            return problem
        expected = expected_start_grid(width, aspect_ratio, upsampling)
        if answer is None:
            return hint("return a pair (sh, sw): rows first, then columns. "
                        "sw = width // 2**num_up with num_up = 5, 6, 7 for normal, more, most.")
        try:
            answer = tuple(int(a) for a in answer)
        except (TypeError, ValueError):
            return hint(f"{case} should be a pair of ints (sh, sw), got {answer!r}")
        if answer == expected:
            continue
        if answer == expected[::-1]:
            return hint(f"{case} gave {answer}: that is (sw, sh). Return (sh, sw), height first, as shapes are.")
        for mode, n in NUM_UPSAMPLINGS.items():
            if mode != upsampling and answer[1] == width // 2 ** n:
                return hint(f"{case}: sw = {answer[1]} is what {mode!r} ({n} upsamplings) gives; "
                            f"{upsampling!r} means {NUM_UPSAMPLINGS[upsampling]} upsamplings.")
        if answer[1] == expected[1]:
            return hint(f"{case}: sw is right but sh should be {expected[0]}: sh = round(sw / aspect_ratio) "
                        f"(the aspect ratio is width / height).")
        return hint(f"{case} should be {expected}, got {answer}. sw = width // 2**num_up, "
                    f"sh = round(sw / aspect_ratio).")
    return passed(f"the start grid is right for all {len(START_GRID_CASES)} configurations, Cityscapes' 4 x 8 "
                  f"included.")


def solution_start_grid(width, aspect_ratio, upsampling):
    num_up = {"normal": 5, "more": 6, "most": 7}[upsampling]  # x2 upsamplings from the grid to the image
    sw = width // 2 ** num_up
    sh = round(sw / aspect_ratio)  # aspect_ratio = width / height
    return sh, sw


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2: parameters of a SPADE residual block, by formula


RESBLOCK_CASES = [  # (fin, fout, label_channels, hidden)
    (64, 64, 12, 128),  # identity shortcut
    (64, 32, 12, 128),  # learned shortcut, fmiddle = 32
    (32, 64, 12, 128),  # learned shortcut, fmiddle = 32 (min, not fout)
    (1024, 1024, 151, 128),  # ADE20K's head_0
    (1024, 512, 151, 128),  # ADE20K's up_0
    (16, 8, 5, 16),
]


def library_resblock_params(fin, fout, label_channels, hidden):
    """The count of spade_lib.generator.SPADEResBlock."""
    from ..generator import SPADEResBlock

    block = SPADEResBlock(fin, fout, label_channels, hidden)
    return sum(p.numel() for p in block.parameters())


def _spade_params(channels, label_channels, hidden, k=3):
    return (k * k * label_channels * hidden + hidden) + 2 * (k * k * hidden * channels + channels)


def check_resblock_params(resblock_params) -> Result:
    """Exercise 2: ``resblock_params(fin, fout, label_channels, hidden)`` counts a SPADE residual block's
    learned parameters."""
    for fin, fout, label_channels, hidden in RESBLOCK_CASES:
        case = f"resblock_params({fin}, {fout}, {label_channels}, {hidden})"
        answer, problem = call_student(resblock_params, fin, fout, label_channels, hidden, call=case)
        if problem is not None:
            return problem
        if answer is None:
            return hint("return an int: the weights and biases of conv_0, conv_1, the SPADE layers norm_0 and "
                        "norm_1 and, when fin != fout, conv_s and norm_s.")
        expected = library_resblock_params(fin, fout, label_channels, hidden)
        if answer == expected:
            continue
        fmiddle = min(fin, fout)
        convs = 9 * fin * fmiddle + fmiddle + 9 * fmiddle * fout + fout
        shortcut = fin * fout if fin != fout else 0
        spades = _spade_params(fin, label_channels, hidden) + _spade_params(fmiddle, label_channels, hidden)
        if fin != fout:
            spades += _spade_params(fin, label_channels, hidden)
            if answer == expected - shortcut - _spade_params(fin, label_channels, hidden):
                return hint(f"{case}: fin != fout, so the block has a learned shortcut: conv_s (1x1, no bias) "
                            f"after its own SPADE, norm_s.")
            if answer == expected + fout:
                return hint(f"{case}: conv_s has no bias.")
        if answer == convs + shortcut:
            return hint(f"{case}: you counted the convolutions only; each SPADE layer has three convolutions of "
                        f"its own (mlp_shared, mlp_gamma, mlp_beta), with biases.")
        if answer == spades:
            return hint(f"{case}: you counted the SPADE layers only; add conv_0, conv_1 (and conv_s).")
        if fin < fout:
            wrong_middle = (9 * fin * fout + fout + 9 * fout * fout + fout + shortcut
                            + _spade_params(fin, label_channels, hidden) * (2 if fin != fout else 1)
                            + _spade_params(fout, label_channels, hidden))
            if answer == wrong_middle:
                return hint(f"{case}: the middle width is fmiddle = min(fin, fout) = {fmiddle}, not fout.")
        return hint(f"{case} should be {expected:,}, got {answer:,}" if isinstance(answer, int) else
                    f"{case} should be the int {expected:,}, got {answer!r}")
    return passed(f"your formula matches spade_lib's SPADEResBlock on all {len(RESBLOCK_CASES)} blocks, "
                  f"ADE20K's head_0 ({library_resblock_params(1024, 1024, 151, 128):,}) included.")


def solution_resblock_params(fin, fout, label_channels, hidden=128):
    def conv(cin, cout, k, bias=True):
        return k * k * cin * cout + (cout if bias else 0)

    def spade(channels):  # mlp_shared (label map -> hidden), then mlp_gamma and mlp_beta (hidden -> channels)
        return conv(label_channels, hidden, 3) + 2 * conv(hidden, channels, 3)

    fmiddle = min(fin, fout)
    total = spade(fin) + conv(fin, fmiddle, 3) + spade(fmiddle) + conv(fmiddle, fout, 3)
    if fin != fout:  # learned shortcut: its own SPADE, then a 1x1 conv without bias
        total += spade(fin) + conv(fin, fout, 1, bias=False)
    return total


# ----------------------------------------------------------------------------------------------------------------
# Exercise 3: the generator's forward pass, by hand


def tiny_generator(upsampling="normal"):
    from ..generator import SPADEGenerator
    from ..norms import SPADE

    torch.manual_seed(4)
    G = SPADEGenerator(5, width=64, upsampling=upsampling, ngf=4, spade_hidden=8)  # "more": a 1x1 start grid
    with torch.no_grad():  # larger weights than the official init, so that every mistake shows in the image
        for m in G.modules():
            if isinstance(m, SPADE):
                for conv in (m.mlp_shared[0], m.mlp_gamma, m.mlp_beta):
                    conv.weight.normal_(0, 0.3)
        G.fc.weight.normal_(0, 0.3)
        G.conv_img.weight.mul_(40)
    return G


def tiny_segmap(G):
    torch.manual_seed(5)
    coarse = torch.randint(0, 5, (2, 1, G.height // 8, G.width // 8)).float()
    ids = F.interpolate(coarse, scale_factor=8.0, mode="nearest")[:, 0].long()
    return F.one_hot(ids, 5).permute(0, 3, 1, 2).float()  # (2, 5, H, W): batch norm needs 2 values at 1x1


def check_generator_forward(generator_forward) -> Result:
    """Exercise 3: ``generator_forward(G, segmap)`` runs a SPADEGenerator ("normal" or "more") step by step,
    from its modules (G.fc, G.head_0, ..., G.up, G.conv_img), and returns the image."""
    for upsampling in ("normal", "more"):
        G = tiny_generator(upsampling)
        segmap = tiny_segmap(G)
        with torch.no_grad():
            # in training mode every call refines spectral norm's estimate: both runs start from the same state
            expected = copy.deepcopy(G)(segmap)
            answer, problem = call_student(generator_forward, G, segmap,
                                           call=f"with upsampling={upsampling!r} your function")
        if problem is not None and callable(generator_forward):  # it raised: point at the usual first mistake
            return hint(problem.message.removeprefix("not yet. Hint: ")
                        + ". Remember: G.fc takes the segmap resized (nearest) to (G.sh, G.sw).")
        if problem is not None:
            return problem
        if answer is None:
            return hint("return the image, an (N, 3, H, W) tensor: start with G.fc on the segmap resized to "
                        "(G.sh, G.sw), then follow the table of the upsampling path, block by block.")
        result = compare_tensors(answer, expected, f"the image (upsampling={upsampling!r})", atol=1e-4)
        if not result:
            if isinstance(answer, torch.Tensor) and answer.shape == expected.shape:
                if torch.allclose(answer, torch.atanh(expected.clamp(-0.999999, 0.999999)), atol=1e-3):
                    return hint("almost: the image goes through torch.tanh at the end.")
                if upsampling == "more":
                    return hint("right for 'normal'; in 'more' mode there is one extra upsampling, between "
                                "G_middle_0 and G_middle_1 (the start grid is half as big).")
                return hint(result.message.removeprefix("not yet. Hint: ") + " Check the order: up before "
                            "G_middle_0 and before each up_k; leaky ReLU (slope 0.2) before conv_img; tanh last.")
            if isinstance(answer, torch.Tensor) and answer.shape[-1] != expected.shape[-1]:
                return hint(result.message.removeprefix("not yet. Hint: ") + " Count the upsamplings: one after "
                            "head_0, one before each of up_0 ... up_3 (+ one more in 'more' mode).")
            return result
    return passed("your forward pass gives exactly the library's image, in 'normal' and 'more' mode.")


def solution_generator_forward(G, segmap):
    x = F.interpolate(segmap, size=(G.sh, G.sw), mode="nearest")  # the label map at the start grid
    x = G.fc(x)  # (N, 16nf, sh, sw)
    x = G.head_0(x, segmap)
    x = G.G_middle_0(G.up(x), segmap)
    if G.upsampling in ("more", "most"):
        x = G.up(x)
    x = G.G_middle_1(x, segmap)
    for name in ["up_0", "up_1", "up_2", "up_3"] + (["up_4"] if G.upsampling == "most" else []):
        x = getattr(G, name)(G.up(x), segmap)
    x = G.conv_img(F.leaky_relu(x, 0.2))
    return torch.tanh(x)


SOLUTIONS = {1: solution_start_grid, 2: solution_resblock_params, 3: solution_generator_forward}
