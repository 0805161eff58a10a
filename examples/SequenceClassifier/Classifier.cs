using Rnnx;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace SequenceClassifier;

/// <summary>The example's settings: data sizes, the recurrent layer (LSTM or GRU) and training.</summary>
public sealed record ClassifierOptions
{
    public int TrainSamples { get; init; } = 2400;
    public int TestSamples { get; init; } = 600;
    public int MinLength { get; init; } = 5;
    public int MaxLength { get; init; } = 40;
    public int Vocabulary { get; init; } = 20;
    public double Noise { get; init; } = 0.1;
    public string Cell { get; init; } = "lstm";
    public int Units { get; init; } = 32;
    public int EmbeddingSize { get; init; } = 16;
    public int Epochs { get; init; } = 15;
    public int BatchSize { get; init; } = 32;
    public int Seed { get; init; } = 42;
}

/// <summary>The trained model and its accuracy on held-out sequences.</summary>
public sealed record ClassifierResult(Sequential Model, History History, double TestLoss, double TestAccuracy);

/// <summary>
/// Embedding(maskZero: true) → LSTM or GRU → Dense(softmax) on <see cref="TokenSequences"/>: the padding's mask makes
/// the recurrent layer stop at each sequence's own end, whatever the padded length.
/// </summary>
public static class Classifier
{
    public static Sequential Build(ClassifierOptions o)
    {
        Layer recurrent = o.Cell switch
        {
            "lstm" => new LSTM(o.Units),
            "gru" => new GRU(o.Units),
            _ => throw new ArgumentException($"cell must be lstm or gru, got '{o.Cell}'."),
        };
        var model = new Sequential([new Embedding(o.Vocabulary, o.EmbeddingSize, maskZero: true, inputLength: o.MaxLength), recurrent,
            new Dense(TokenSequences.Classes, "softmax")], "sequence_classifier", seed: o.Seed);
        model.Compile(new Adam(0.005), Loss.SparseCategoricalCrossentropy(), "accuracy");
        return model;
    }

    /// <summary>Trains on one generated set and evaluates on another (different seed), returning the held-out accuracy.</summary>
    public static ClassifierResult Run(ClassifierOptions o, int verbose = 0)
    {
        var (xTrain, yTrain, _) = new TokenSequences(o.TrainSamples, o.MinLength, o.MaxLength, o.Vocabulary, o.Noise, o.Seed).Generate();
        var (xTest, yTest, _) = new TokenSequences(o.TestSamples, o.MinLength, o.MaxLength, o.Vocabulary, o.Noise, o.Seed + 1).Generate();
        var model = Build(o);
        var history = model.Fit(xTrain, yTrain, o.Epochs, o.BatchSize, validationData: (xTest, yTest), verbose: verbose);
        var test = model.Evaluate(xTest, yTest, o.BatchSize);
        return new ClassifierResult(model, history, test["loss"], test["accuracy"]);
    }
}
