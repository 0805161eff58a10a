using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Tests.Models;

/// <summary>Classification through Fit/Evaluate: softmax and sigmoid heads, the cross-entropies, accuracy, sample and class weights.</summary>
public class ClassificationFitTests
{
    /// <summary>Three Gaussian blobs in 2-D, centres 3 apart (nearly separable), labels 0..2; reproducible.</summary>
    private static (Tensor X, Tensor Labels, Tensor OneHot) Blobs(int n, int seed)
    {
        var r = new System.Random(seed);
        double[][] centres = [[0, 3], [-2.6, -1.5], [2.6, -1.5]];
        var x = new float[n * 2];
        var labels = new float[n];
        var oneHot = new float[n * 3];
        for (int i = 0; i < n; i++)
        {
            int c = i % 3;
            labels[i] = c;
            oneHot[i * 3 + c] = 1;
            for (int d = 0; d < 2; d++)
            {
                double g = Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
                x[i * 2 + d] = (float)(centres[c][d] + 0.6 * g);
            }
        }
        return (Tensor.FromArray(x, n, 2), Tensor.FromArray(labels, n), Tensor.FromArray(oneHot, n, 3));
    }

    private static Sequential Classifier(string activation) =>
        new([new Dense(16, "relu", inputShape: [2]), new Dense(3, activation)], seed: 7);

    [TestCase(false)]
    [TestCase(true)]
    public void SoftmaxHead_SparseLabels_LearnsTheBlobs(bool fromLogits)
    {
        var (x, labels, _) = Blobs(300, 1);
        var model = Classifier(fromLogits ? "linear" : "softmax");
        model.Compile(new Adam(0.01), Loss.SparseCategoricalCrossentropy(fromLogits), "accuracy");
        var h = model.Fit(x, labels, epochs: 30, batchSize: 32, verbose: 0);
        Assert.That(h["loss"][^1], Is.LessThan(h["loss"][0] / 3), "the loss falls");
        Assert.That(h["accuracy"][^1], Is.GreaterThan(0.95));
        var (tx, tl, _) = Blobs(150, 2);
        var eval = model.Evaluate(tx, tl);
        Assert.That(eval["accuracy"], Is.GreaterThan(0.95), "held-out accuracy");
        // Labels with a trailing axis of 1 are the same targets.
        var column = Tensor.Reshape(tl, 150, 1);
        Assert.That(model.Evaluate(tx, column)["loss"], Is.EqualTo(eval["loss"]).Within(1e-9));
    }

    [Test]
    public void SoftmaxHead_OneHot_CategoricalWithSmoothing()
    {
        var (x, _, oneHot) = Blobs(300, 3);
        var model = Classifier("softmax");
        model.Compile(new Adam(0.01), Loss.CategoricalCrossentropy(labelSmoothing: 0.1), "accuracy", Metric.TopKCategoricalAccuracy(2));
        var h = model.Fit(x, oneHot, epochs: 30, verbose: 0);
        Assert.That(h["accuracy"][^1], Is.GreaterThan(0.95));
        Assert.That(h["top_k_categorical_accuracy"][^1], Is.GreaterThanOrEqualTo(h["accuracy"][^1]));
        var p = model.Predict(x).ToFloatArray();
        for (int i = 0; i < 3; i++) Assert.That(p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2], Is.EqualTo(1f).Within(1e-5f), "rows of a softmax sum to 1");
    }

    [Test]
    public void SigmoidHead_BinaryCrossentropy()
    {
        var (x, labels, _) = Blobs(300, 4);
        var l = labels.ToFloatArray().Select(v => v == 0 ? 1f : 0f).ToArray();   // class 0 against the rest
        var model = new Sequential([new Dense(8, "gelu", inputShape: [2]), new Dense(1, "sigmoid")], seed: 3);
        model.Compile(new Adam(0.01), Loss.BinaryCrossentropy(), "accuracy");
        var h = model.Fit(x, Tensor.FromArray(l, 300, 1), epochs: 20, verbose: 0);
        Assert.That(h["accuracy"][^1], Is.GreaterThan(0.95));
    }

    [Test]
    public void ClassIndicesOutOfRange_RefusedBeforeTraining()
    {
        var (x, labels, _) = Blobs(30, 5);
        var model = Classifier("softmax");
        model.Compile(new Adam(), Loss.SparseCategoricalCrossentropy());
        var bad = labels.ToFloatArray();
        bad[7] = 3;
        var before = model.GetWeights().Select(w => w.ToFloatArray()).ToArray();
        var ex = Assert.Throws<ArgumentException>(() => model.Fit(x, Tensor.FromArray(bad, 30), verbose: 0));
        Assert.That(ex!.Message, Does.Contain("class index 3").And.Contain("sample 7").And.Contain("[0, 3)"));
        var after = model.GetWeights();
        for (int i = 0; i < before.Length; i++) Assert.That(after[i].ToFloatArray(), Is.EqualTo(before[i]), "weights unchanged");
        Assert.Throws<ShapeMismatchException>(() => model.Fit(x, Tensor.Zeros(new Shape(30, 2)), verbose: 0));
    }

    [Test]
    public void SampleWeights_ScaleTheLossAsKeras()
    {
        // Keras's sum_over_batch_size: Σ w·loss / N. Weights of 2 everywhere double the first batch's loss; the first
        // step's loss is computed before any update, so both runs see the same weights there.
        var (x, labels, _) = Blobs(32, 6);
        var a = Classifier("softmax");
        var b = Classifier("softmax");
        a.Compile(new Adam(), Loss.SparseCategoricalCrossentropy());
        b.Compile(new Adam(), Loss.SparseCategoricalCrossentropy());
        double plain = a.Fit(x, labels, epochs: 1, batchSize: 32, shuffle: false, verbose: 0)["loss"][0];
        var twos = Tensor.Full(new Shape(32), 2.0);
        double weighted = b.Fit(x, labels, epochs: 1, batchSize: 32, shuffle: false, verbose: 0, sampleWeight: twos)["loss"][0];
        Assert.That(weighted, Is.EqualTo(2 * plain).Within(1e-5 * plain));
    }

    [Test]
    public void ClassWeights_EqualTheSampleWeightsTheyMapTo()
    {
        var (x, labels, _) = Blobs(60, 7);
        var cw = new Dictionary<int, double> { [0] = 0.5, [2] = 3.0 };   // class 1 weighs 1
        var sw = labels.ToFloatArray().Select(c => c == 0 ? 0.5f : c == 2 ? 3f : 1f).ToArray();
        var a = Classifier("softmax");
        var b = Classifier("softmax");
        a.Compile(new Adam(0.01), Loss.SparseCategoricalCrossentropy(), "accuracy");
        b.Compile(new Adam(0.01), Loss.SparseCategoricalCrossentropy(), "accuracy");
        var ha = a.Fit(x, labels, epochs: 3, batchSize: 16, verbose: 0, classWeight: cw);
        var hb = b.Fit(x, labels, epochs: 3, batchSize: 16, verbose: 0, sampleWeight: Tensor.FromArray(sw, 60));
        Assert.That(ha["loss"], Is.EqualTo(hb["loss"]), "bit-identical runs");
        Assert.That(ha["accuracy"], Is.EqualTo(hb["accuracy"]));
        Assert.Throws<ArgumentException>(() => a.Fit(x, labels, verbose: 0, sampleWeight: Tensor.FromArray(sw, 60), classWeight: cw));
        Assert.Throws<ShapeMismatchException>(() => a.Fit(x, labels, verbose: 0, sampleWeight: Tensor.Ones(new Shape(59))));
    }

    [Test]
    public void WeightedMetric_IsTheWeightedMeanOverSamples()
    {
        // Keras's Mean.update_state with sample_weight: Σ w·v / Σ w (accuracy_metrics_test.py, CategoricalAccuracyTest.test_weighted: 0.3).
        var p = Tensor.FromArray(new float[] { 0.1f, 0.9f, 0.8f, 0.05f, 0.95f, 0f }, 2, 3);
        var t = Tensor.FromArray(new float[] { 0, 0, 1, 0, 1, 0 }, 2, 3);
        var (sum, count) = Metric.CategoricalAccuracy.Evaluate(t, p, Tensor.FromArray(new float[] { 0.7f, 0.3f }, 2));
        Assert.That(sum / count, Is.EqualTo(0.3).Within(1e-6));
    }

    /// <summary>
    /// Series of 32 steps from three generators (a sine of random phase and period, a random walk, a square wave of
    /// random phase), each with noise; the label says which generator made the series. Reproducible from the seed.
    /// </summary>
    private static (Tensor X, Tensor Labels) Generators(int n, int seed)
    {
        const int steps = 32;
        var r = new System.Random(seed);
        var x = new float[n * steps];
        var labels = new float[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % 3;
            labels[i] = c;
            double phase = r.NextDouble() * 2 * Math.PI, period = 6 + r.NextDouble() * 6, walk = 0;
            for (int t = 0; t < steps; t++)
            {
                double noise = 0.1 * (r.NextDouble() - 0.5);
                double v = c switch
                {
                    0 => Math.Sin(2 * Math.PI * t / period + phase),
                    1 => walk += 0.3 * (r.NextDouble() - 0.5),
                    _ => Math.Sin(2 * Math.PI * t / period + phase) >= 0 ? 0.8 : -0.8,
                };
                x[i * steps + t] = (float)(v + noise);
            }
        }
        return (Tensor.FromArray(x, n, steps, 1), Tensor.FromArray(labels, n));
    }

    [Test]
    public void SequenceClassifier_FromTheDocs_TellsTheGeneratorsApart()
    {
        // The model of docs/layers.md, "Classification, pooling and shape layers".
        var (x, labels) = Generators(300, 11);
        var (xValid, labelsValid) = Generators(90, 12);
        var model = new Sequential(
            new Conv1D(16, 3, padding: "same", activation: "relu", inputShape: [null, 1]),
            new MaxPooling1D(2),
            new GRU(16, returnSequences: true),
            new GlobalAveragePooling1D(),
            new Dense(3, "softmax"));
        model.Compile(new Adam(0.01), Loss.SparseCategoricalCrossentropy(), "accuracy");
        var history = model.Fit(x, labels, epochs: 20, validationData: (xValid, labelsValid), verbose: 0);
        TestContext.Out.WriteLine($"val_accuracy {history["val_accuracy"][^1]:P1}, val_loss {history["val_loss"][^1]:F4}");
        Assert.That(history["val_accuracy"][^1], Is.GreaterThan(0.9), "three generators, chance is 1/3");
    }
}
