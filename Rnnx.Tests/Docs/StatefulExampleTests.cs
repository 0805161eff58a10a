using Rnnx.Data;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Random;

namespace Rnnx.Tests.Docs;

/// <summary>docs/layers.md's stateful example (the chapter's series in consecutive chunks, then a step-by-step forecast), run on fewer epochs.</summary>
public class StatefulExampleTests
{
    [Test]
    public void ChunkedTrainingAndStepByStepForecast()
    {
        const int rows = 64, chunk = 10, chunks = 5, length = chunks * chunk + 1;
        var series = TimeSeries.Generate(new NumPyRandomState(42), rows, length);
        var x = new float[chunks * rows * chunk];
        var y = new float[chunks * rows * chunk];
        for (int c = 0; c < chunks; c++)
            for (int r = 0; r < rows; r++)
                for (int t = 0; t < chunk; t++)
                {
                    x[(c * rows + r) * chunk + t] = series[r * length + c * chunk + t];
                    y[(c * rows + r) * chunk + t] = series[r * length + c * chunk + t + 1];
                }
        var xs = Tensor.FromArray(x, chunks * rows, chunk, 1);
        var ys = Tensor.FromArray(y, chunks * rows, chunk, 1);

        var model = new Sequential(
            new InputLayer([null, 1], batchSize: rows),
            new LSTM(20, returnSequences: true, stateful: true),
            new TimeDistributed(new Dense(1)));
        model.Compile(new Adam(0.01), Loss.MeanSquaredError);
        var losses = new List<double>();
        for (int epoch = 0; epoch < 6; epoch++)   // docs: 20
        {
            model.ResetStates();
            losses.Add(model.Fit(xs, ys, epochs: 1, batchSize: rows, shuffle: false, verbose: 0)["loss"][0]);
        }
        Assert.That(losses[^1], Is.LessThan(losses[0] / 2), "training on the chunks learns");

        model.ResetStates();
        var history = Tensor.FromArray(Enumerable.Range(0, rows).SelectMany(r => series.Skip(r * length).Take(50)).ToArray(), rows, 50, 1);
        var next = Tensor.Select(model.Predict(history, batchSize: rows), 1, -1);
        var forecast = new List<float[]> { next.ToFloatArray() };
        for (int k = 1; k < 10; k++)
        {
            next = Tensor.Select(model.Predict(Tensor.Reshape(next, rows, 1, 1), batchSize: rows), 1, -1);
            forecast.Add(next.ToFloatArray());
        }

        // The same weights without state, re-run on the whole growing sequence each step, give the same forecast.
        var plain = new Sequential(new InputLayer([null, 1]), new LSTM(20, returnSequences: true), new TimeDistributed(new Dense(1)));
        plain.Build();
        plain.SetWeights(model.GetWeights());
        var seq = Enumerable.Range(0, rows).Select(r => series.Skip(r * length).Take(50).ToList()).ToArray();
        for (int k = 0; k < 10; k++)
        {
            var input = Tensor.FromArray(seq.SelectMany(s => s).ToArray(), rows, seq[0].Count, 1);
            var expected = Tensor.Select(plain.Predict(input, batchSize: rows), 1, -1).ToFloatArray();
            Assert.That(forecast[k], Is.EqualTo(expected).Within(1e-5), $"step {k + 1}");
            for (int r = 0; r < rows; r++) seq[r].Add(expected[r]);
        }
    }
}
