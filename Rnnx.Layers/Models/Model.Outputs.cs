using Rnnx.Layers;
using Rnnx.Losses;

namespace Rnnx.Models;

/// <summary>
/// The parts of training and evaluation that see every input and output: one implementation, in which a one-input,
/// one-output model is the 1-element case.
/// </summary>
public partial class Model
{
    /// <summary>The name of output <paramref name="o"/> in History keys and messages (its layer's name, as Keras).</summary>
    private string OutputName(int o) => _functional is { } f ? f.Outputs[o].Layer.Name : "output";

    /// <summary>
    /// Runs the built graph on one tensor per input; a one-input, one-output model takes the single-tensor path (the same
    /// calls, so the same bits, as before several inputs existed).
    /// </summary>
    private void RunGraph(Tensor[] xs, Tensor[] preds, Tensor?[] masks, bool training)
    {
        if (xs.Length == 1 && preds.Length == 1) preds[0] = RunLayers(xs[0], training, out masks[0]);
        else _graph!.Run(xs, preds, training, masks);
    }

    /// <summary>
    /// Σ over outputs of weight·loss (Keras's total loss; weights 1 unless compiled with loss weights); each output's
    /// unweighted value goes into <paramref name="lossOf"/>, as Keras 3 records <c>&lt;output&gt;_loss</c>
    /// (keras/src/trainers/compile_utils.py, CompileLoss.call: "Record *unweighted* individual losses").
    /// </summary>
    private Tensor SummedLoss(Tensor[] ys, Tensor[] preds, ReadOnlySpan<Tensor?> sampleWeights, Tensor?[] masks, Span<double> lossOf) =>
        SummedLoss(ys, preds, sampleWeights, masks, lossOf, default, default);

    /// <summary>
    /// <see cref="SummedLoss(Tensor[], Tensor[], ReadOnlySpan{Tensor?}, Tensor?[], Span{double})"/> for one shard of a batch: a masked
    /// output's loss is normalized by the whole batch's unmasked count and mask size (<paramref name="batchValid"/>,
    /// <paramref name="batchTotal"/>, per output) rather than the shard's, as Keras divides once per batch.
    /// </summary>
    private Tensor SummedLoss(Tensor[] ys, Tensor[] preds, ReadOnlySpan<Tensor?> sampleWeights, Tensor?[] masks, Span<double> lossOf, ReadOnlySpan<double> batchValid, ReadOnlySpan<double> batchTotal)
    {
        Tensor total = default;
        for (int o = 0; o < preds.Length; o++)
        {
            var sampleWeight = sampleWeights.IsEmpty ? null : sampleWeights[o];
            var l = batchValid.IsEmpty || masks[o] is null
                ? LossOf(o).Compute(ys[o], preds[o], sampleWeight, masks[o])
                : LossOf(o).Compute(ys[o], preds[o], sampleWeight, masks[o], batchValid[o], batchTotal[o]);
            lossOf[o] = l.Item();
            if (LossWeights is { } w) l *= w[o];
            total = o == 0 ? l : total + l;
        }
        return total;
    }

    /// <summary>The compiled loss of output <paramref name="o"/>.</summary>
    private Loss LossOf(int o) => OutputLosses?[o] ?? Loss!;

    /// <summary>
    /// Adds each (output, metric)'s weighted sum and count, output-major (each output's own metrics, <see cref="MetricsOf"/>),
    /// to <paramref name="sum"/> and <paramref name="count"/>; output o is weighted by <paramref name="sampleWeights"/>[o] (empty: none).
    /// </summary>
    private void AddMetrics(Tensor[] ys, Tensor[] preds, ReadOnlySpan<Tensor?> sampleWeights, Tensor?[] masks, Span<double> sum, Span<double> count)
    {
        int k = 0;
        for (int o = 0; o < preds.Length; o++)
        {
            var metrics = MetricsOf(o);
            var sampleWeight = sampleWeights.IsEmpty ? null : sampleWeights[o];
            for (int m = 0; m < metrics.Count; m++, k++)
            {
                var (s, c) = metrics[m].Evaluate(ys[o], preds[o], sampleWeight, masks[o]);
                sum[k] += s;
                count[k] += c;
            }
        }
    }

    /// <summary>The number of (output, metric) pairs measured.</summary>
    private int MetricCount()
    {
        int count = 0;
        for (int o = 0; o < _graph!.OutputSlots.Length; o++) count += MetricsOf(o).Count;
        return count;
    }

    /// <summary>
    /// History keys of the metrics, output-major: the metric's name with one output, <c>&lt;output&gt;_&lt;metric&gt;</c>
    /// with several (Keras 3 keras/src/trainers/compile_utils.py, CompileMetrics: the output name as prefix).
    /// </summary>
    private string[] MetricKeys()
    {
        int outputs = _graph!.OutputSlots.Length;
        var keys = new List<string>();
        for (int o = 0; o < outputs; o++)
            foreach (var metric in MetricsOf(o))
                keys.Add(outputs == 1 ? metric.Name : $"{OutputName(o)}_{metric.Name}");
        return keys.ToArray();
    }

    /// <summary>History keys of the outputs' losses: <c>&lt;output&gt;_loss</c> with several outputs, none with one (Keras).</summary>
    private string[] OutputLossKeys()
    {
        int outputs = _graph!.OutputSlots.Length;
        return outputs == 1 ? [] : Enumerable.Range(0, outputs).Select(o => OutputName(o) + "_loss").ToArray();
    }

    /// <summary>Writes <c>loss</c>, each output's loss (several outputs only) and the metrics' means.</summary>
    private static void WriteLogs(Dictionary<string, double> logs, double loss, string[] lossKeys, double[] outputLossSum, int samples, string[] metricKeys, double[] mSum, double[] mCount)
    {
        logs["loss"] = loss;
        for (int o = 0; o < lossKeys.Length; o++) logs[lossKeys[o]] = outputLossSum[o] / samples;
        for (int m = 0; m < metricKeys.Length; m++) logs[metricKeys[m]] = mSum[m] / mCount[m];
    }

    /// <summary>
    /// Checks one tensor per input and one target per output (counts, sample counts, shapes, finite values; each named)
    /// and returns them in the model's dtype, targets shaped like the outputs.
    /// </summary>
    private (Tensor[] X, Tensor[] Y) CheckData(IReadOnlyList<Tensor> x, IReadOnlyList<Tensor> y, string whatX, string whatY)
    {
        var xs = CheckManyInputs(x);
        for (int i = 0; i < xs.Length; i++) CheckFinite(xs[i], xs.Length == 1 ? whatX : $"{whatX} '{_functional!.Inputs[i].Layer.Name}'");
        int outputs = _graph!.OutputSlots.Length;
        if (y.Count != outputs)
            throw new ArgumentException($"{Name}: the model gives {outputs} output(s) ({string.Join(", ", Enumerable.Range(0, outputs).Select(OutputName))}), got {y.Count} {whatY}.", nameof(y));
        var slots = _graph.SlotShapes(xs.Select(t => Layer.WithoutBatch(t.Shape)).ToArray());
        var inputsText = string.Join(", ", xs.Select(t => t.Shape.ToString()));
        var ys = new Tensor[outputs];
        for (int o = 0; o < outputs; o++)
            ys[o] = AlignTarget(xs[0].Shape[0], slots[_graph.OutputSlots[o]], LossOf(o), y[o], outputs == 1 ? whatY : $"{whatY} for output '{OutputName(o)}'", inputsText);
        return (xs, ys);
    }
}
