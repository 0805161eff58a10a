using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Rnnx.Data;
using Rnnx.Forecasting;
using Rnnx.Onnx;
using Rnnx.Tests.Saving;

namespace Rnnx.Tests.Onnx;

/// <summary>
/// A forecaster exported with its window scaling and transform (OnnxExportOptions.Scaler/Transform) maps raw windows
/// to raw forecasts in ONNX Runtime exactly as SeriesScaler.Transform → Predict → Inverse → SeriesTransform.Inverse do.
/// </summary>
[TestFixture]
public sealed class OnnxSeriesScalingTests
{
    private static float[] Series(int n) =>
        Enumerable.Range(0, n).Select(i => (float)(50 * Math.Exp(0.004 * i) * (1 + 0.15 * Math.Sin(2 * Math.PI * i / 12)) + Math.Cos(1.3 * i * i))).ToArray();

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var arch in new[] { "gru", "linear" })
            foreach (var scaling in Enum.GetValues<SeriesScaling>())
                foreach (var (transform, lambda) in new (SeriesTransformKind, double?)[] { (SeriesTransformKind.None, null), (SeriesTransformKind.Log, null), (SeriesTransformKind.BoxCox, 0.4), (SeriesTransformKind.BoxCox, -0.3) })
                    yield return new TestCaseData(arch, scaling, transform, lambda)
                        .SetName($"Onnx_{arch}_{SeriesScaler.NameOf(scaling)}_{SeriesTransform.NameOf(transform)}{(lambda is double l ? "_" + l.ToString(System.Globalization.CultureInfo.InvariantCulture) : "")}");
    }

    [TestCaseSource(nameof(Cases))]
    public void RawWindowsToRawForecasts(string arch, SeriesScaling scaling, SeriesTransformKind transform, double? lambda)
    {
        const int window = 12, horizon = 3;
        var values = Series(200);
        var data = ForecastData.Prepare(values, new ForecastSetup(window, horizon, scaling, Transform: transform, Lambda: lambda));
        var model = ForecastModels.Create(arch, window, horizon, seed: 5);
        model.Build();
        TestModels.Perturb(model, 5);

        // ONNX Runtime: the raw windows (with the value before them for differencing), nothing else.
        var onnx = OnnxExporter.Export(model, new OnnxExportOptions { Scaler = data.Scaler, Transform = data.Transform });
        int lookback = data.Scaler.Lookback, n = data.Test.Count, steps = window + lookback;
        var raw = new float[n * steps];
        for (int i = 0; i < n; i++) values.AsSpan(data.Test.TargetIndex(i) - steps, steps).CopyTo(raw.AsSpan(i * steps));
        using var session = new InferenceSession(onnx);
        Assert.That(session.InputMetadata["input"].Dimensions[1], Is.EqualTo(arch == "linear" ? steps : -1));
        var actual = Run(session, raw, [n, steps, 1]);

        // The library on the same windows: scaled inputs, the model (run by ONNX Runtime too, so that only the scaling
        // nodes are compared: the model's own kernels differ from Rnnx's in the last bits, OnnxExportTests bound that),
        // inverse scaling, inverse transform.
        var x = data.Test.Materialize().X;
        using var plain = new InferenceSession(OnnxExporter.Export(model));
        var outputs = Run(plain, x, [n, window, 1]);
        var expected = data.Test.InverseForecasts(outputs);
        data.Transform.Inverse(expected);

        Assert.That(actual, Has.Length.EqualTo(expected.Length));
        double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a) / Math.Max(1, Math.Abs(e))).Max();
        TestContext.Out.WriteLine($"max relative error {worst:E2} over {expected.Length} forecasts (the graph computes in float64 and rounds where the library rounds)");
        Assert.That(worst, Is.LessThanOrEqualTo(1e-6));

        // End to end against Predict: the model's kernel differences, carried through the scaling.
        var predicted = data.Test.InverseForecasts(model.Predict(data.Test).ToFloatArray());
        data.Transform.Inverse(predicted);
        Assert.That(predicted.Zip(actual, (e, a) => Math.Abs(e - a) / Math.Max(1, Math.Abs(e))).Max(), Is.LessThanOrEqualTo(1e-4));
        Assert.That(session.ModelMetadata.CustomMetadataMap["rnnx.scaling"], Is.EqualTo(SeriesScaler.NameOf(scaling)));
        Assert.That(session.ModelMetadata.CustomMetadataMap["rnnx.transform"], Is.EqualTo(SeriesTransform.NameOf(transform)));
    }

    private static float[] Run(InferenceSession session, float[] x, int[] shape)
    {
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(x, shape))]);
        return results.Single().AsTensor<float>().ToArray();
    }

    [Test]
    public void ConflictingOptionsAreRefused()
    {
        var model = ForecastModels.Create("linear", 12, 3, seed: 5);
        model.Build();
        var scaler = new SeriesScaler(SeriesScaling.LastValue, 0, 2);
        Assert.That(() => OnnxExporter.Export(model, new OnnxExportOptions { Scaler = scaler, Standardization = (1, 2) }),
            Throws.ArgumentException.With.Message.Contains("Set Scaler or Standardization, not both"));
        Assert.That(() => OnnxExporter.Export(model, new OnnxExportOptions { Transform = SeriesTransform.Log }),
            Throws.ArgumentException.With.Message.Contains("Transform needs Scaler"));
    }
}
