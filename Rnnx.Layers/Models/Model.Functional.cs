using Rnnx.Layers;

namespace Rnnx.Models;

public partial class Model
{
    /// <summary>
    /// Runs a model with several inputs or outputs on one batch: one (batch, ...) tensor per input, in
    /// <see cref="Inputs"/> order; returns one tensor per output, recorded on the active tape (if any), as <see cref="Call"/>.
    /// </summary>
    /// <remarks>
    /// Safe to call from many threads at once on a model without stateful layers. On a stateful model each call reads
    /// and updates the carried states, so calls run one at a time: a call while another one runs is refused.
    /// </remarks>
    /// <exception cref="ArgumentException">The wrong number of inputs, or an input whose shape does not fit its <see cref="Input"/>.</exception>
    /// <exception cref="InvalidOperationException">A mutation (Fit, SetWeights, ...) runs on another thread, or (stateful model) another call uses the states.</exception>
    public Tensor[] CallMany(IReadOnlyList<Tensor> inputs, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        using var read = _access.Read(nameof(CallMany));
        using var statefulCall = EnterStatefulCall(nameof(CallMany));
        var xs = CheckManyInputs(inputs);
        var outputs = new Tensor[Graph.OutputSlots.Length];
        Graph.Run(xs, outputs, training);
        return outputs;
    }

    /// <summary>
    /// Predictions of a model with several inputs or outputs, in batches, recording nothing: one (samples, ...) tensor per
    /// input, in <see cref="Inputs"/> order; returns one heap tensor (samples, ...) per output.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The wrong number of inputs, different sample counts, or a shape that does not fit; on a stateful model, a batch
    /// size other than its layers' or a sample count that is not a multiple of it (refused before the states move).
    /// </exception>
    /// <exception cref="InvalidOperationException">A mutation (Fit, SetWeights, ...) runs on another thread, or (stateful model) another call uses the states.</exception>
    public Tensor[] PredictMany(IReadOnlyList<Tensor> inputs, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        using var read = _access.Read(nameof(PredictMany));
        var xs = CheckManyInputs(inputs);
        int n = xs[0].Shape[0];
        CheckStatefulData(nameof(PredictMany), n, batchSize);
        using var statefulCall = EnterStatefulCall(nameof(PredictMany));
        var slots = Graph.SlotShapes(xs.Select(x => Layer.WithoutBatch(x.Shape)).ToArray());
        var results = Graph.OutputSlots.Select(s => AllocateResult(new Shape([n, .. slots[s].Select(d => d ?? throw new InvalidOperationException($"{Name}: output length unknown."))]))).ToArray();
        var ws = RentWorkspace();
        var tape = ws.Tape(0);
        var batch = new Tensor[xs.Length];
        var outs = new Tensor[results.Length];
        try
        {
            for (int start = 0; start < n; start += batchSize)
            {
                int count = Math.Min(batchSize, n - start);
                tape.Reset();
                using (tape.Activate())
                using (tape.NoGrad())
                {
                    for (int i = 0; i < xs.Length; i++) batch[i] = Range(xs[i], start, count);
                    Graph.Run(batch, outs, training: false);
                    for (int o = 0; o < outs.Length; o++)
                    {
                        int row = outs[o].Size / count;
                        if (DType == DType.Float32) outs[o].AsSpan<float>().CopyTo(((float[])results[o].Array).AsSpan(start * row));
                        else outs[o].AsSpan<double>().CopyTo(((double[])results[o].Array).AsSpan(start * row));
                    }
                }
            }
        }
        finally
        {
            ReturnWorkspace(ws);
        }
        return results.Select(r => r.Result).ToArray();
    }

    /// <summary>Checks one tensor per model input (count, rank, shape against its <see cref="Input"/>, sample counts) and builds the model.</summary>
    private Tensor[] CheckManyInputs(IReadOnlyList<Tensor> inputs)
    {
        var declared = _functional?.InputShapes(null) ?? [InputShape ?? _layers[0].DeclaredInputShape ?? (inputs.Count > 0 && inputs[0].IsValid ? Layer.WithoutBatch(inputs[0].Shape) : [])];
        if (inputs.Count != declared.Count)
            throw new ArgumentException($"{Name}: the model takes {declared.Count} input(s), got {inputs.Count}.", nameof(inputs));
        var xs = new Tensor[inputs.Count];
        for (int i = 0; i < xs.Length; i++)
        {
            var x = inputs[i];
            string what = _functional is { } f ? $"input '{f.Inputs[i].Layer.Name}'" : "inputs";
            if (!x.IsValid) throw new ArgumentException($"{Name}: {what} is an invalid tensor.", nameof(inputs));
            var expected = declared[i];
            bool ok = x.Rank == expected.Length + 1;
            for (int d = 0; ok && d < expected.Length; d++) ok = expected[d] is null || expected[d] == x.Shape[d + 1];
            if (!ok) throw new ShapeMismatchException($"{Name}: expects {what} of shape (samples, {string.Join(", ", expected.Select(d => d?.ToString() ?? "None"))}), got {x.Shape}.", nameof(inputs));
            if (x.Shape[0] != inputs[0].Shape[0])
                throw new ShapeMismatchException($"{Name}: {what} has {x.Shape[0]} samples, the first input {inputs[0].Shape[0]}.", nameof(inputs));
            xs[i] = x;
        }
        if (!IsBuilt) Build(declared[0], xs[0].DType);
        for (int i = 0; i < xs.Length; i++) if (xs[i].DType != DType) xs[i] = xs[i].Copy(DType);
        return xs;
    }
}
