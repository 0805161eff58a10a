using Rnnx.Data;

namespace Rnnx.Models;

public partial class Model
{
    /// <summary>Loss and metrics on (x, y) in batches of <paramref name="batchSize"/> (see <see cref="EvaluateBatches"/>).</summary>
    private Dictionary<string, double> EvaluateCore(Tensor[] x, Tensor[] y, int batchSize, ShardWorkers? heldWorkers = null) =>
        EvaluateBatches(x[0].Shape[0], batchSize, heldWorkers, (start, count, part) =>
        {
            for (int i = 0; i < part.X.Length; i++) part.X[i] = Range(x[i], start, count);
            for (int o = 0; o < part.Y.Length; o++) part.Y[o] = Range(y[o], start, count);
        });

    /// <summary>
    /// Loss and metrics over <paramref name="n"/> samples in batches that <paramref name="batch"/> cuts (into the part's
    /// inputs and targets, on the active tape, from the sample start and count), averaged as Keras does.
    /// <para>
    /// The batches run on the model's threads (<paramref name="heldWorkers"/> when the caller holds them, as Fit does for
    /// its validation; else the shard threads if free, else the calling thread alone), batch b on part b mod parts. Each
    /// batch is computed whole on one thread and its loss and metric terms are kept per batch, then added in batch order: the same bits as one
    /// thread running the batches in order, whatever the thread count and whichever thread took which batch. A
    /// stateful model runs its batches in order on one thread (each continues the states of the previous one).
    /// </para>
    /// </summary>
    private Dictionary<string, double> EvaluateBatches(int n, int batchSize, ShardWorkers? heldWorkers, Action<int, int, EvaluationPart> batch)
    {
        int outputs = _graph!.OutputSlots.Length;
        var metricKeys = MetricKeys();
        CheckStatefulData(nameof(Evaluate), n, batchSize);
        using var statefulCall = EnterStatefulCall(nameof(Evaluate));
        int batches = (n + batchSize - 1) / batchSize;
        var terms = new EvaluationTerms(batches, outputs, metricKeys.Length);
        var workers = heldWorkers ?? (StatefulLayers.Count == 0 ? TryAcquireWorkers(ThreadsUsed) : null);
        int parts = StatefulLayers.Count > 0 || workers is null ? 1 : Math.Min(batches, workers.Threads);
        var ws = RentWorkspace();
        try
        {
            var state = new EvaluationParts(this, ws, parts, n, batchSize, terms, batch);
            // with fewer batches than threads, the other threads split the parts' large products
            if (workers is not null) workers.Run(parts, state.RunPart);
            else state.RunPart(0);
        }
        finally
        {
            if (heldWorkers is null && workers is not null) ReleaseWorkers();
            ReturnWorkspace(ws);
        }
        var (lossTotal, oSum, mSum, mCount) = terms.Sum();
        var r = new Dictionary<string, double>();
        WriteLogs(r, lossTotal / n, OutputLossKeys(), oSum, n, metricKeys, mSum, mCount);
        return r;
    }

    /// <summary>What one thread of an evaluation writes: the batch's inputs, targets, predictions and masks, and a row buffer.</summary>
    private sealed class EvaluationPart(int inputs, int outputs, int batchSize)
    {
        public readonly Tensor[] X = new Tensor[inputs], Y = new Tensor[outputs], Pred = new Tensor[outputs];
        public readonly Tensor?[] Masks = new Tensor?[outputs];
        public readonly double[] LossOf = new double[outputs];
        public readonly int[] Rows = new int[batchSize];
    }

    /// <summary>Per batch: loss × count, each output's loss × count, each metric's sum and count.</summary>
    private sealed class EvaluationTerms(int batches, int outputs, int metrics)
    {
        public readonly double[] Loss = new double[batches];
        public readonly double[][] Output = Jagged<double>(batches, outputs), MetricSum = Jagged<double>(batches, metrics), MetricCount = Jagged<double>(batches, metrics);

        /// <summary>The terms added in batch order (as a single thread accumulating batch after batch adds them).</summary>
        public (double Loss, double[] Output, double[] MetricSum, double[] MetricCount) Sum()
        {
            double loss = 0;
            var (o, ms, mc) = (new double[outputs], new double[metrics], new double[metrics]);
            for (int b = 0; b < Loss.Length; b++)
            {
                loss += Loss[b];
                for (int k = 0; k < o.Length; k++) o[k] += Output[b][k];
                for (int k = 0; k < ms.Length; k++)
                {
                    ms[k] += MetricSum[b][k];
                    mc[k] += MetricCount[b][k];
                }
            }
            return (loss, o, ms, mc);
        }
    }

    /// <summary>The batches of one evaluation; part p (one thread) runs batches p, p + parts, p + 2·parts, ...</summary>
    private sealed class EvaluationParts
    {
        private readonly Model _model;
        private readonly InferenceWorkspace _ws;
        private readonly EvaluationPart[] _parts;
        private readonly int _n, _batchSize;
        private readonly EvaluationTerms _terms;
        private readonly Action<int, int, EvaluationPart> _batch;

        public readonly Action<int> RunPart;

        public EvaluationParts(Model model, InferenceWorkspace ws, int parts, int n, int batchSize, EvaluationTerms terms, Action<int, int, EvaluationPart> batch)
        {
            (_model, _ws, _n, _batchSize, _terms, _batch) = (model, ws, n, batchSize, terms, batch);
            _parts = new EvaluationPart[parts];
            for (int p = 0; p < parts; p++) _parts[p] = new EvaluationPart(model._graph!.InputCount, model._graph.OutputSlots.Length, Math.Min(batchSize, n));
            ws.Tape(parts - 1);   // grow the tapes here, not on the worker threads
            RunPart = Run;
        }

        private void Run(int p)
        {
            var part = _parts[p];
            var tape = _ws.Tape(p);
            int batches = (_n + _batchSize - 1) / _batchSize;
            for (int b = p; b < batches; b += _parts.Length)
            {
                int start = b * _batchSize, count = Math.Min(_batchSize, _n - start);
                tape.Reset();
                using (tape.Activate())
                using (tape.NoGrad())
                {
                    _batch(start, count, part);
                    _model.RunGraph(part.X, part.Pred, part.Masks, training: false);
                    _terms.Loss[b] = _model.SummedLoss(part.Y, part.Pred, [], part.Masks, part.LossOf).Item() * count;
                    for (int o = 0; o < part.LossOf.Length; o++) _terms.Output[b][o] = part.LossOf[o] * count;
                    _model.AddMetrics(part.Y, part.Pred, [], part.Masks, _terms.MetricSum[b], _terms.MetricCount[b]);
                }
            }
        }
    }
}
