using Rnnx.Losses;
using Rnnx.Diagnostics;
using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.LossTests;

/// <summary>
/// The cross-entropy losses against the numbers of Keras's own tests (keras/src/losses/losses_test.py, classes
/// BinaryCrossentropyTest, CategoricalCrossentropyTest and SparseCategoricalCrossentropyTest; test names below),
/// float64 gradient checks, and the refusals.
/// </summary>
public class CrossentropyTests
{
    private static Tensor F(double[,] v)
    {
        int r = v.GetLength(0), c = v.GetLength(1);
        var flat = new float[r * c];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) flat[i * c + j] = (float)v[i, j];
        return Tensor.FromArray(flat, r, c);
    }

    private static Tensor F(params double[] v) => Tensor.FromArray(v.Select(d => (float)d).ToArray(), v.Length);

    private static readonly double[,] OneHot3 = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };
    private static readonly double[,] Probs3 = { { 0.9, 0.05, 0.05 }, { 0.5, 0.89, 0.6 }, { 0.05, 0.01, 0.94 } };
    private static readonly double[,] Logits3 = { { 8, 1, 1 }, { 0, 9, 1 }, { 2, 3, 5 } };

    // Keras's tests assert these with its TestCase.assertAlmostEqual, decimal = 3 by default (keras/src/testing/test_case.py:
    // numpy's assert_almost_equal, |actual − desired| < 1.5e-3); the goldens are printed to 4-5 places.
    private const double Keras = 1.5e-3;

    [Test]
    public void Binary_KerasUnweighted()
    {
        // BinaryCrossentropyTest.test_unweighted
        var y1 = F(OneHot3);
        var p1 = F(new[,] { { 0.9, 0.1, 0.2 }, { 0.3, 0.8, 0.1 }, { 0.1, 0.2, 0.7 } });
        Assert.That(Loss.BinaryCrossentropy().Compute(y1, p1).Item(), Is.EqualTo(0.20046903).Within(1e-6));
        var y2 = F(new double[,] { { 1, 0 }, { 1, 0 } });
        var p2 = F(new double[,] { { 1, 1 }, { 1, 0 } });
        Assert.That(Loss.BinaryCrossentropy().Compute(y2, p2).Item(), Is.EqualTo(3.98559).Within(Keras));
        var y3 = F(new double[,] { { 1, 0, 1 }, { 0, 1, 1 } });
        var z3 = F(new double[,] { { 10, -10, 10 }, { 10, 10, -10 } });
        Assert.That(Loss.BinaryCrossentropy(fromLogits: true).Compute(y3, z3).Item(), Is.EqualTo(3.3333).Within(Keras));
        // BinaryCrossentropyTest.test_no_reduction
        Assert.That(Loss.BinaryCrossentropy(fromLogits: true).ComputeValues(y3, z3).ToDoubleArray(), Is.EqualTo(new[] { 0.0, 6.666 }).Within(1e-3));
    }

    [Test]
    public void Binary_KerasWeightedAndSmoothed()
    {
        var y = F(new double[,] { { 1, 0 }, { 1, 0 } });
        var p = F(new double[,] { { 1, 1 }, { 1, 0 } });
        // BinaryCrossentropyTest.test_sample_weighted: weights [1.2, 3.4] → 4.7827; test_scalar_weighted: 2.3 → 9.1668.
        Assert.That(Loss.BinaryCrossentropy().Compute(y, p, F(1.2, 3.4)).Item(), Is.EqualTo(4.7827).Within(Keras));
        Assert.That(Loss.BinaryCrossentropy().Compute(y, p, F(2.3, 2.3)).Item(), Is.EqualTo(9.1668).Within(Keras));
        var yl = F(new double[,] { { 1, 0, 1 }, { 0, 1, 1 } });
        var zl = F(new double[,] { { 10, -10, 10 }, { 10, 10, -10 } });
        Assert.That(Loss.BinaryCrossentropy(fromLogits: true).Compute(yl, zl, F(4, 3)).Item(), Is.EqualTo(10.0).Within(Keras));
        // BinaryCrossentropyTest.test_label_smoothing: (10 + 5 ls) / 3.
        var loss = Loss.BinaryCrossentropy(fromLogits: true, labelSmoothing: 0.1).Compute(F(new double[,] { { 1, 0, 1 } }), F(new double[,] { { 10, -10, -10 } }));
        Assert.That(loss.Item(), Is.EqualTo((10.0 + 5.0 * 0.1) / 3.0).Within(Keras));
    }

    [Test]
    public void Categorical_KerasGoldens()
    {
        // CategoricalCrossentropyTest.test_unweighted, test_scalar_weighted, test_sample_weighted, test_no_reduction.
        var y = F(OneHot3);
        Assert.That(Loss.CategoricalCrossentropy().Compute(y, F(Probs3)).Item(), Is.EqualTo(0.3239).Within(Keras));
        Assert.That(Loss.CategoricalCrossentropy(fromLogits: true).Compute(y, F(Logits3)).Item(), Is.EqualTo(0.0573).Within(Keras));
        Assert.That(Loss.CategoricalCrossentropy().Compute(y, F(Probs3), F(2.3, 2.3, 2.3)).Item(), Is.EqualTo(0.7449).Within(Keras));
        Assert.That(Loss.CategoricalCrossentropy(fromLogits: true).Compute(y, F(Logits3), F(2.3, 2.3, 2.3)).Item(), Is.EqualTo(0.1317).Within(Keras));
        Assert.That(Loss.CategoricalCrossentropy().Compute(y, F(Probs3), F(1.2, 3.4, 5.6)).Item(), Is.EqualTo(1.0696).Within(Keras));
        Assert.That(Loss.CategoricalCrossentropy(fromLogits: true).Compute(y, F(Logits3), F(1.2, 3.4, 5.6)).Item(), Is.EqualTo(0.31829).Within(1e-5));
        Assert.That(Loss.CategoricalCrossentropy(fromLogits: true).ComputeValues(y, F(Logits3)).ToDoubleArray(),
            Is.EqualTo(new[] { 0.001822, 0.000459, 0.169846 }).Within(1e-6));
        // CategoricalCrossentropyTest.test_label_smoothing: logits ±100, ls 0.1 → 400 ls / 3.
        var smoothed = Loss.CategoricalCrossentropy(fromLogits: true, labelSmoothing: 0.1).Compute(F(new double[,] { { 1, 0, 0 } }), F(new double[,] { { 100, -100, -100 } }));
        Assert.That(smoothed.Item(), Is.EqualTo(400.0 * 0.1 / 3.0).Within(1e-4));
    }

    [Test]
    public void SparseCategorical_KerasGoldens()
    {
        // SparseCategoricalCrossentropyTest.test_unweighted (labels (3,)), test_sample_weighted and test_no_reduction (labels (3, 1)).
        Assert.That(Loss.SparseCategoricalCrossentropy().Compute(F(0, 1, 2), F(Probs3)).Item(), Is.EqualTo(0.3239).Within(1e-3));
        Assert.That(Loss.SparseCategoricalCrossentropy(fromLogits: true).Compute(F(0, 1, 2), F(Logits3)).Item(), Is.EqualTo(0.0573).Within(1e-3));
        var column = F(new double[,] { { 0 }, { 1 }, { 2 } });
        Assert.That(Loss.SparseCategoricalCrossentropy().Compute(column, F(Probs3), F(1.2, 3.4, 5.6)).Item(), Is.EqualTo(1.0696).Within(1e-3));
        Assert.That(Loss.SparseCategoricalCrossentropy(fromLogits: true).ComputeValues(column, F(Logits3)).ToDoubleArray(),
            Is.EqualTo(new[] { 0.001822, 0.000459, 0.169846 }).Within(1e-6));
    }

    [Test]
    public void FromProbabilities_ClipsAtEpsilon()
    {
        // A confident wrong prediction costs −log(1e-7) ≈ 16.118 per element, not infinity (Keras's clip to [ε, 1 − ε]).
        var loss = Loss.BinaryCrossentropy().Compute(F(new double[,] { { 1 } }), F(new double[,] { { 0 } }));
        Assert.That(loss.Item(), Is.EqualTo(-Math.Log(1e-7)).Within(1e-3));
        var cce = Loss.CategoricalCrossentropy().Compute(F(new double[,] { { 0, 1 } }), F(new double[,] { { 1, 0 } }));
        Assert.That(cce.Item(), Is.EqualTo(-Math.Log(1e-7)).Within(1e-3));
    }

    [Test]
    public void FromLogits_LargeLogitsStayFinite()
    {
        var z = F(new double[,] { { 500, -500, 0 } });
        Assert.That(double.IsFinite(Loss.CategoricalCrossentropy(fromLogits: true).Compute(F(new double[,] { { 0, 1, 0 } }), z).Item()), Is.True);
        Assert.That(Loss.BinaryCrossentropy(fromLogits: true).Compute(F(new double[,] { { 0, 1, 1 } }), z).Item(), Is.EqualTo((500 + 500 + Math.Log(2)) / 3).Within(1e-3));
    }

    public static IEnumerable<TestCaseData> GradientCases()
    {
        yield return new TestCaseData("binary probabilities", Loss.BinaryCrossentropy(), false).SetArgDisplayNames("binary");
        yield return new TestCaseData("binary logits smoothed", Loss.BinaryCrossentropy(fromLogits: true, labelSmoothing: 0.2), true).SetArgDisplayNames("binary logits ls");
        yield return new TestCaseData("categorical probabilities smoothed", Loss.CategoricalCrossentropy(labelSmoothing: 0.1), false).SetArgDisplayNames("categorical ls");
        yield return new TestCaseData("categorical logits", Loss.CategoricalCrossentropy(fromLogits: true), true).SetArgDisplayNames("categorical logits");
        yield return new TestCaseData("sparse probabilities", Loss.SparseCategoricalCrossentropy(), false).SetArgDisplayNames("sparse");
        yield return new TestCaseData("sparse logits", Loss.SparseCategoricalCrossentropy(fromLogits: true), true).SetArgDisplayNames("sparse logits");
    }

    [TestCaseSource(nameof(GradientCases))]
    public void Gradient_Float64(string what, Loss loss, bool logits)
    {
        var r = new RandomTensors(17);
        bool sparse = loss.TakesClassIndices;
        var target = sparse ? Tensor.FromArray(new double[] { 0, 3, 1, 2 }, 4) : r.Uniform(new Shape(4, 4), 0, 1);
        // Probabilities inside (0.05, 0.95): away from the clip bounds, where the derivative jumps.
        var pred = logits ? r.Uniform(new Shape(4, 4), -3, 3) : r.Uniform(new Shape(4, 4), 0.05, 0.95);
        var weights = Tensor.FromArray(new double[] { 1, 0.5, 2, 0 }, 4);
        GradientChecker.Check(x => loss.Compute(target, x[0]), pred);
        GradientChecker.Check(x => loss.Compute(target, x[0], weights), pred);
        if (!sparse) GradientChecker.Check(x => loss.Compute(x[0], pred), target);
    }

    [Test]
    public void BadInput_IsRefusedWithTheLossAndShapes()
    {
        var p = F(Probs3);
        var ex = Assert.Throws<ShapeMismatchException>(() => Loss.CategoricalCrossentropy().Compute(F(0, 1, 2), p));
        Assert.That(ex!.Message, Does.Contain("categorical_crossentropy").And.Contain("(3, 3)"));
        Assert.Throws<ShapeMismatchException>(() => Loss.BinaryCrossentropy().Compute(F(new double[,] { { 0 }, { 1 }, { 2 } }), p));
        var idx = Assert.Throws<ArgumentException>(() => Loss.SparseCategoricalCrossentropy().Compute(F(0, 3, 1), p));
        Assert.That(idx!.Message, Does.Contain("3").And.Contain("[0, 3)"));
        Assert.Throws<ArgumentException>(() => Loss.SparseCategoricalCrossentropy().Compute(F(0, 0.5, 1), p));
        Assert.Throws<ArgumentOutOfRangeException>(() => Loss.BinaryCrossentropy(labelSmoothing: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Loss.CategoricalCrossentropy(labelSmoothing: double.NaN));
        Assert.Throws<ShapeMismatchException>(() => Loss.CategoricalCrossentropy().Compute(F(OneHot3), p, F(1, 2)));
    }

    [Test]
    public void Names_RoundTripThroughGet()
    {
        foreach (var name in new[] { "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy" })
            Assert.That(Loss.Get(name).Name, Is.EqualTo(name));
    }

    [Test]
    public void RegressionValues_AgreeWithTheirFusedMeans()
    {
        // keras/src/losses/losses_test.py MeanSquaredErrorTest.test_sample_weighted: 767.8 / 6.
        var y = F(new double[,] { { 1, 9, 2 }, { -5, -2, 6 } });
        var p = F(new double[,] { { 4, 8, 12 }, { 8, 1, 3 } });
        Assert.That(Loss.MeanSquaredError.Compute(y, p, F(1.2, 3.4)).Item(), Is.EqualTo(767.8 / 6).Within(1e-3));
        Assert.That(Loss.MeanAbsoluteError.Compute(y, p, F(1.2, 3.4)).Item(), Is.EqualTo(81.4 / 6).Within(1e-4));
        foreach (var loss in new[] { Loss.MeanSquaredError, Loss.MeanAbsoluteError, Loss.Huber(2.5) })
            Assert.That(Tensor.Mean(loss.ComputeValues(y, p)).Item(), Is.EqualTo(loss.Compute(y, p).Item()).Within(1e-4), loss.Name);
    }
}
