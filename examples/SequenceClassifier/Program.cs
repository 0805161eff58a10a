using System.Globalization;
using SequenceClassifier;

// dotnet run -c Release --project examples/SequenceClassifier -- [--cell lstm|gru] [--epochs N] [--train N] [--test N] [--seed N]
var options = new ClassifierOptions();
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
        int NextInt(string name) => int.TryParse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0
            ? v : throw new ArgumentException($"{name} must be a positive integer.");
        options = args[i] switch
        {
            "--cell" => options with { Cell = Next() },
            "--epochs" => options with { Epochs = NextInt("--epochs") },
            "--train" => options with { TrainSamples = NextInt("--train") },
            "--test" => options with { TestSamples = NextInt("--test") },
            "--seed" => options with { Seed = NextInt("--seed") },
            _ => throw new ArgumentException($"unknown option '{args[i]}' (use --cell, --epochs, --train, --test, --seed)."),
        };
    }
    if (options.Cell is not ("lstm" or "gru")) throw new ArgumentException($"--cell must be lstm or gru, got '{options.Cell}'.");
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

Console.WriteLine($"Classifying token sequences of length {options.MinLength}..{options.MaxLength} by generator ({string.Join(", ", TokenSequences.ClassNames)}), "
    + $"{options.TrainSamples} training and {options.TestSamples} held-out samples; Embedding(maskZero) + {options.Cell.ToUpperInvariant()}({options.Units}) + softmax.");
var result = Classifier.Run(options, verbose: 1);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"held-out accuracy {result.TestAccuracy:F4}, loss {result.TestLoss:F4}"));
return 0;
