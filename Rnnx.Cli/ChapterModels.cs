using Rnnx.Data;
using Rnnx.Layers;
using Rnnx.Metrics;
using Rnnx.Models;

namespace Rnnx.Cli;

/// <summary>Which of the notebook's datasets and targets a model trains on.</summary>
internal enum ChapterTask
{
    /// <summary>One-step data: X (N, 50, 1), y (N, 1).</summary>
    OneStep,

    /// <summary>Ten-step data with vector targets: Y (N, 10).</summary>
    TenStepVector,

    /// <summary>Ten-step data with sequence targets: Y (N, 50, 10).</summary>
    TenStepSequence,

    /// <summary>Sequence targets every second step from step 3 (<c>Y[:, 3::2]</c>): (N, 24, 10), for the strided Conv1D model.</summary>
    ConvSequence,
}

/// <summary>One of the chapter's models: its notebook settings, Keras reference value and layers.</summary>
/// <param name="Name">The name used in output, <c>--only</c> and the JSON report.</param>
/// <param name="NotebookEpochs">Epochs the notebook trains for.</param>
/// <param name="KerasValMse">The notebook's printed validation MSE (Keras), or null for a model beyond the notebook.</param>
/// <param name="Task">The data and targets.</param>
/// <param name="UsesLastTimeStepMse">Whether the notebook compiles it with the <c>last_time_step_mse</c> metric.</param>
/// <param name="Layers">Creates fresh layers for the model.</param>
/// <param name="Graph">For a functional model (not a layer stack): creates it with a name and seed; null for a Sequential one.</param>
internal sealed record ModelSpec(string Name, int NotebookEpochs, float? KerasValMse, ChapterTask Task, bool UsesLastTimeStepMse, Func<Layer[]> Layers,
    Func<string, int, Model>? Graph = null)
{
    /// <summary>A new, unbuilt model with this spec's layers; weights and shuffles are drawn from <paramref name="seed"/>.</summary>
    /// <exception cref="InvalidOperationException">The spec is a functional model (use <see cref="CreateModel"/>).</exception>
    public Sequential Create(int seed) => Graph is null ? new(Layers(), Name, seed) : throw new InvalidOperationException($"{Name} is a functional model, not a layer stack.");

    /// <summary>A new, unbuilt model of any kind for this spec.</summary>
    public Model CreateModel(int seed) => Graph?.Invoke(Name, seed) ?? Create(seed);
}

/// <summary>The chapter's models in the notebook's order.</summary>
internal static class ChapterModels
{
    /// <summary>The notebook's naive one-step baseline (<c>X_valid[:, -1]</c> vs <c>y_valid</c>).</summary>
    public const float KerasNaiveMse = 0.021185566f;

    /// <summary>The notebook's custom metric: the MSE of the last time step's 10 forecasts.</summary>
    public static Metric LastTimeStepMse() => Metric.FromFunction("last_time_step_mse",
        (yTrue, yPred) => Metric.MeanSquaredErrorValues(Tensor.Select(yTrue, 1, -1), Tensor.Select(yPred, 1, -1)));

    /// <summary>Every model, in the notebook's order.</summary>
    public static IReadOnlyList<ModelSpec> All { get; } =
    [
        new("linear", 20, 0.0037825033f, ChapterTask.OneStep, false, () =>
        [
            new Flatten(inputShape: [50, 1]),
            new Dense(1),
        ]),
        new("simple_rnn", 10, 0.1480416f, ChapterTask.OneStep, false, () =>
        [
            new SimpleRNN(1, inputShape: [null, 1]),
        ]),
        new("deep_rnn", 10, 0.002750152f, ChapterTask.OneStep, false, () =>
        [
            new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]),
            new SimpleRNN(20),
            new Dense(1),
        ]),
        new("deep_rnn_10steps", 10, 0.010641455f, ChapterTask.TenStepVector, false, () =>
        [
            new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]),
            new SimpleRNN(20),
            new Dense(10),
        ]),
        new("s2s_rnn", 13, 0.028833391f, ChapterTask.TenStepSequence, true, () =>
        [
            new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]),
            new SimpleRNN(20, returnSequences: true),
            new TimeDistributed(new Dense(10)),
        ]),
        new("ln_rnn", 10, 0.036504794f, ChapterTask.TenStepSequence, true, () =>
        [
            new RNN(new LNSimpleRNNCell(20), returnSequences: true, inputShape: [null, 1]),
            new RNN(new LNSimpleRNNCell(20), returnSequences: true),
            new TimeDistributed(new Dense(10)),
        ]),
        new("lstm_rnn", 10, 0.02758335f, ChapterTask.TenStepSequence, true, () =>
        [
            new LSTM(20, returnSequences: true, inputShape: [null, 1]),
            new LSTM(20, returnSequences: true),
            new TimeDistributed(new Dense(10)),
        ]),
        new("conv_rnn", 10, 0.021186305f, ChapterTask.ConvSequence, true, () =>
        [
            new Conv1D(filters: 20, kernelSize: 4, strides: 2, padding: "valid", inputShape: [null, 1]),
            new GRU(20, returnSequences: true),
            new GRU(20, returnSequences: true),
            new TimeDistributed(new Dense(10)),
        ]),
        new("wavenet", 10, 0.022441423f, ChapterTask.TenStepSequence, true, WaveNet),
    ];

    /// <summary>
    /// Models beyond the notebook on the same data, trained only when named in <c>--only</c> (so a default run gives the
    /// notebook's models alone). bidirectional_lstm: a Bidirectional LSTM forecasting the 10-step horizon as a vector, as
    /// deep_rnn_10steps does. Not as a sequence-to-sequence model: its backward direction would read, at step t, the
    /// inputs after t, which are the very values that step's targets ask for. encoder_repeat_decoder and
    /// encoder_decoder_states: the chapter's encoder–decoder kinds on the same 10-step vector targets, as functional models.
    /// lstm_dropout: the chapter's LSTM forecaster with <c>dropout=0.2, recurrent_dropout=0.2</c> on both LSTM layers.
    /// </summary>
    public static IReadOnlyList<ModelSpec> Extras { get; } =
    [
        new("bidirectional_lstm", 10, null, ChapterTask.TenStepVector, false, () =>
        [
            new Bidirectional(new LSTM(20, returnSequences: true), inputShape: [null, 1]),
            new Bidirectional(new LSTM(20)),
            new Dense(10),
        ]),
        new("encoder_repeat_decoder", 20, null, ChapterTask.TenStepVector, false, () => [], EncoderRepeatDecoder),
        new("encoder_decoder_states", 20, null, ChapterTask.TenStepVector, false, () => [], EncoderDecoderStates),
        new("lstm_dropout", 10, null, ChapterTask.TenStepSequence, true, () =>
        [
            new LSTM(20, returnSequences: true, inputShape: [null, 1], dropout: 0.2, recurrentDropout: 0.2),
            new LSTM(20, returnSequences: true, dropout: 0.2, recurrentDropout: 0.2),
            new TimeDistributed(new Dense(10)),
        ]),
    ];

    /// <summary>The notebook's model names, in order.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(m => m.Name).ToArray();

    /// <summary>Every name <c>--only</c> accepts: the notebook's models, then the extras.</summary>
    public static IReadOnlyList<string> AllNames { get; } = All.Concat(Extras).Select(m => m.Name).ToArray();

    /// <summary>
    /// (a) A sequence-to-vector encoder, LSTM(20), whose last output is repeated for each of the 10 forecast steps and
    /// decoded by a vector-to-sequence LSTM(20) with a Dense(1) per step: (batch, 50, 1) → (batch, 10, 1).
    /// </summary>
    private static Model EncoderRepeatDecoder(string name, int seed)
    {
        var x = new Input([null, 1]);
        var encoded = new LSTM(20, name: "encoder").Apply(x);
        var decoded = new LSTM(20, returnSequences: true, name: "decoder").Apply(new RepeatVector(ChapterData.Horizon).Apply(encoded));
        return new Model(x, new TimeDistributed(new Dense(1)).Apply(decoded), name, seed);
    }

    /// <summary>(b) As (a), with the encoder's final states (h, c) as the decoder's initial states.</summary>
    private static Model EncoderDecoderStates(string name, int seed)
    {
        var x = new Input([null, 1]);
        var (encoded, h, c) = new LSTM(20, returnState: true, name: "encoder").ApplyMany(x);
        var decoded = new LSTM(20, returnSequences: true, name: "decoder").ApplyMany(new RepeatVector(ChapterData.Horizon).Apply(encoded), h, c)[0];
        return new Model(x, new TimeDistributed(new Dense(1)).Apply(decoded), name, seed);
    }

    /// <summary>The spec named <paramref name="name"/> (a notebook model or an extra).</summary>
    /// <exception cref="ArgumentException">No chapter model has that name.</exception>
    public static ModelSpec Get(string name) => All.Concat(Extras).SingleOrDefault(m => m.Name == name)
        ?? throw new ArgumentException($"unknown model '{name}'; models: {string.Join(", ", AllNames)}", nameof(name));

    private static Layer[] WaveNet()
    {
        var layers = new List<Layer> { new InputLayer([null, 1]) };
        foreach (int rate in new[] { 1, 2, 4, 8, 1, 2, 4, 8 })
            layers.Add(new Conv1D(filters: 20, kernelSize: 2, padding: "causal", activation: Activation.Relu, dilationRate: rate));
        layers.Add(new Conv1D(filters: 10, kernelSize: 1));
        return [.. layers];
    }
}
