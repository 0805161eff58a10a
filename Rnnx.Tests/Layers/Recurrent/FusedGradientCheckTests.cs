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

    private delegate Span<double> Values();

    [Test, Combinatorial]
    public void FiniteDifferences([ValueSource(nameof(AllKinds))] CellKind kind, [Values(false, true)] bool returnSequences, [Values(false, true)] bool goBackwards)
    {
        var layer = Make(kind, 3, returnSequences, goBackwards);
        BuildRandom(layer, 3, DType.Float64, seed: 40 + (uint)kind);
        var rng = new NumPyRandomState(41);
        var x = RandomTensor(rng, DType.Float64, 1.0, 2, 4, 3).RequireGrad();
        var init = layer.Cell.StateSizes.Select(s => RandomTensor(rng, DType.Float64, 0.7, 2, s).RequireGrad()).ToArray();

        var analytic = Run(layer, x, init, fused: true);

        double Loss()
        {
            var (y, states) = layer.Run(x, init);   // no tape: the fused inference path
            double l = Probe(y, 11).Item();
            for (int i = 0; i < states.Length; i++) l += Probe(states[i], 20 + (uint)i).Item();
            return l;
        }

        var targets = new List<(string Name, Values Get)> { ("x", () => x.Data.Span<double>()) };
        foreach (var p in layer.Weights) targets.Add((p.Name, () => p.AsSpan<double>()));
        for (int i = 0; i < init.Length; i++)
        {
            var s = init[i];
            targets.Add(($"initial_state_{i}", () => s.Data.Span<double>()));
        }
        Assert.That(targets.Select(t => t.Name), Is.EqualTo(analytic.Grads.Select(g => g.Name)));

        for (int n = 0; n < targets.Count; n++)
        {
            var numeric = CentralDifference(Loss, targets[n].Get);
            var ana = analytic.Grads[n].Values;
            for (int i = 0; i < numeric.Length; i++)
                Assert.That(Math.Abs(numeric[i] - ana[i]), Is.LessThanOrEqualTo(1e-8 + 1e-6 * Math.Abs(ana[i])),
                    $"d/d {targets[n].Name}[{i}]: numeric {numeric[i]:R}, analytic {ana[i]:R}");
        }
    }

    private static double[] CentralDifference(Func<double> loss, Values values, double h = 1e-6)
    {
        int n = values().Length;
        var result = new double[n];
        for (int i = 0; i < n; i++)
        {
            double orig = values()[i];
            values()[i] = orig + h;
            double up = loss();
            values()[i] = orig - h;
            double down = loss();
            values()[i] = orig;
            result[i] = (up - down) / (2 * h);
        }
        return result;
    }
}
