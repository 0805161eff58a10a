using Rnnx.Metrics;

namespace Rnnx.Tests.MetricTests;

/// <summary>
/// Classification metrics against Keras's test numbers (keras/src/metrics/accuracy_metrics_test.py, test names below)
/// and the "accuracy" string's resolution (keras/src/trainers/compile_utils.py, is_binary_or_sparse_categorical).
/// </summary>
public class ClassificationMetricTests
{
    private static Tensor F(double[,] v)
    {
        int r = v.GetLength(0), c = v.GetLength(1);
        var flat = new float[r * c];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) flat[i * c + j] = (float)v[i, j];
        return Tensor.FromArray(flat, r, c);
    }

    private static Tensor F(params double[] v) => Tensor.FromArray(v.Select(d => (float)d).ToArray(), v.Length);

    private static double Value(Metric m, Tensor t, Tensor p)
    {
        var (sum, count) = m.Evaluate(t, p);
        return sum / count;
    }

    [Test]
    public void BinaryAccuracy_ThresholdHalf()
    {
        // BinaryAccuracyTest.test_unweighted: [[1],[1],[0],[0]] vs [[0.98],[1],[0],[0.6]] → 0.75.
        var t = F(new double[,] { { 1 }, { 1 }, { 0 }, { 0 } });
        var p = F(new double[,] { { 0.98 }, { 1 }, { 0 }, { 0.6 } });
        Assert.That(Value(Metric.BinaryAccuracy(), t, p), Is.EqualTo(0.75));
        Assert.That(Value(Metric.BinaryAccuracy(threshold: 0.7), t, p), Is.EqualTo(1.0));
        Assert.That(Value(Metric.Accuracy, t, p), Is.EqualTo(0.75), "last axis 1 → binary");
    }

    [Test]
    public void CategoricalAndSparse()
    {
        // CategoricalAccuracyTest.test_unweighted → 0.5 (the first row's arg-max is class 1 against target 2, the second's
        // class 1 against 1); SparseCategoricalAccuracy's docstring example, targets [[2], [1]] → 0.5.
        var p = F(new[,] { { 0.1, 0.9, 0.8 }, { 0.05, 0.95, 0 } });
        var oneHot = F(new double[,] { { 0, 0, 1 }, { 0, 1, 0 } });
        Assert.That(Value(Metric.CategoricalAccuracy, oneHot, p), Is.EqualTo(0.5));
        Assert.That(Value(Metric.SparseCategoricalAccuracy, F(2, 1), p), Is.EqualTo(0.5));
        Assert.That(Value(Metric.SparseCategoricalAccuracy, F(new double[,] { { 2 }, { 1 } }), p), Is.EqualTo(0.5));
        Assert.That(Value(Metric.Accuracy, oneHot, p), Is.EqualTo(0.5), "same rank → categorical");
        Assert.That(Value(Metric.Accuracy, F(2, 1), p), Is.EqualTo(0.5), "lower rank → sparse");
        Assert.That(Value(Metric.Accuracy, F(1, 1), p), Is.EqualTo(1.0));
    }

    [Test]
    public void TopK()
    {
        // TopKCategoricalAccuracyTest.test_correctness (k = 1 and 2), SparseTopKCategoricalAccuracyTest.test_correctness.
        var p = F(new[,] { { 0.1, 0.9, 0.8 }, { 0.05, 0.95, 0 } });
        var oneHot = F(new double[,] { { 0, 0, 1 }, { 0, 1, 0 } });
        Assert.That(Value(Metric.TopKCategoricalAccuracy(1), oneHot, p), Is.EqualTo(0.5));
        Assert.That(Value(Metric.TopKCategoricalAccuracy(2), oneHot, p), Is.EqualTo(1.0));
        Assert.That(Value(Metric.SparseTopKCategoricalAccuracy(1), F(2, 1), p), Is.EqualTo(0.5));
        Assert.That(Value(Metric.SparseTopKCategoricalAccuracy(2), F(2, 1), p), Is.EqualTo(1.0));
        Assert.That(Value(Metric.Get("top_k_categorical_accuracy"), oneHot, p), Is.EqualTo(1.0), "k = 5 default covers all 3 classes");
        // Ties at the boundary count as in (TensorFlow's in_top_k).
        Assert.That(Tensor.InTopK(F(new double[,] { { 0.5, 0.5, 0.1 } }), F(1), 1).ToDoubleArray(), Is.EqualTo(new[] { 1.0 }));
    }

    [Test]
    public void Names()
    {
        foreach (var name in new[] { "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy" })
            Assert.That(Metric.Get(name).Name, Is.EqualTo(name));
        Assert.That(Metric.Get("acc").Name, Is.EqualTo("accuracy"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Metric.TopKCategoricalAccuracy(0));
    }
}
