using Rnnx.Layers;
using Rnnx.Random;
using static Rnnx.Tests.Layers.Recurrent.RecurrentTestUtil;

namespace Rnnx.Tests.Layers.Recurrent;

/// <summary>
/// Float64 central-difference checks (h = 1e-6, |numeric − analytic| ≤ 1e-8 + 1e-6·|analytic|) of every fused layer with
/// respect to its input, every weight and the user-supplied initial states, for the probe loss of
/// <see cref="RecurrentTestUtil.Run"/> (output and final states).
/// </summary>
public class FusedGradientCheckTests
{
    private static readonly CellKind[] AllKinds = Enum.GetValues<CellKind>();

    [Test, Combinatorial]
    public void FiniteDifferences([ValueSource(nameof(AllKinds))] CellKind kind, [Values(false, true)] bool returnSequences, [Values(false, true)] bool goBackwards)
    {
        var layer = Make(kind, 3, returnSequences, goBackwards);
        BuildRandom(layer, 3, DType.Float64, seed: 40 + (uint)kind);
        var rng = new NumPyRandomState(41);
        var x = RandomTensor(rng, DType.Float64, 1.0, 2, 4, 3).RequireGrad();
        var init = layer.Cell.StateSizes.Select(s => RandomTensor(rng, DType.Float64, 0.7, 2, s).RequireGrad()).ToArray();

        // Analytic: the fused training path on a tape; numeric: the fused inference path (no tape).
        layer.UseFusedKernel = true;
        Assert.That(CheckGradients(layer, x, init), Is.EqualTo(x.Size + layer.CountParams() + init.Sum(s => s.Size)));
    }
}
