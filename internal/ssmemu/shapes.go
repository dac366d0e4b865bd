package ssmemu

// Wire shapes, member names and order as in botocore's model and in real
// service answers. Fields the service always returns carry no omitempty.

type targetJSON struct {
	Key    *string  `json:"Key,omitempty"`
	Values []string `json:"Values"`
}

type notificationJSON struct {
	NotificationArn    string   `json:"NotificationArn"`
	NotificationEvents []string `json:"NotificationEvents"`
	NotificationType   string   `json:"NotificationType"`
}

type notificationInJSON struct {
	NotificationArn    *string  `json:"NotificationArn"`
	NotificationEvents []string `json:"NotificationEvents"`
	NotificationType   *string  `json:"NotificationType"`
}

type cloudWatchJSON struct {
	CloudWatchLogGroupName  string `json:"CloudWatchLogGroupName"`
	CloudWatchOutputEnabled bool   `json:"CloudWatchOutputEnabled"`
}

type cloudWatchInJSON struct {
	CloudWatchLogGroupName  *string `json:"CloudWatchLogGroupName"`
	CloudWatchOutputEnabled *bool   `json:"CloudWatchOutputEnabled"`
}

type sendCommandInput struct {
	InstanceIds            []string            `json:"InstanceIds"`
	Targets                []targetJSON        `json:"Targets"`
	DocumentName           *string             `json:"DocumentName"`
	DocumentVersion        *string             `json:"DocumentVersion"`
	DocumentHash           *string             `json:"DocumentHash"`
	DocumentHashType       *string             `json:"DocumentHashType"`
	TimeoutSeconds         *int                `json:"TimeoutSeconds"`
	Comment                *string             `json:"Comment"`
	Parameters             map[string][]string `json:"Parameters"`
	OutputS3Region         *string             `json:"OutputS3Region"`
	OutputS3BucketName     *string             `json:"OutputS3BucketName"`
	OutputS3KeyPrefix      *string             `json:"OutputS3KeyPrefix"`
	MaxConcurrency         *string             `json:"MaxConcurrency"`
	MaxErrors              *string             `json:"MaxErrors"`
	ServiceRoleArn         *string             `json:"ServiceRoleArn"`
	NotificationConfig     *notificationInJSON `json:"NotificationConfig"`
	CloudWatchOutputConfig *cloudWatchInJSON   `json:"CloudWatchOutputConfig"`
	AlarmConfiguration     any                 `json:"AlarmConfiguration"`
}

type commandJSON struct {
	CommandId              string              `json:"CommandId"`
	DocumentName           string              `json:"DocumentName"`
	DocumentVersion        string              `json:"DocumentVersion"`
	Comment                string              `json:"Comment"`
	ExpiresAfter           epochTime           `json:"ExpiresAfter"`
	Parameters             map[string][]string `json:"Parameters"`
	InstanceIds            []string            `json:"InstanceIds"`
	Targets                []targetJSON        `json:"Targets"`
	RequestedDateTime      epochTime           `json:"RequestedDateTime"`
	Status                 string              `json:"Status"`
	StatusDetails          string              `json:"StatusDetails"`
	OutputS3Region         string              `json:"OutputS3Region,omitempty"`
	OutputS3BucketName     string              `json:"OutputS3BucketName"`
	OutputS3KeyPrefix      string              `json:"OutputS3KeyPrefix"`
	MaxConcurrency         string              `json:"MaxConcurrency"`
	MaxErrors              string              `json:"MaxErrors"`
	TargetCount            int                 `json:"TargetCount"`
	CompletedCount         int                 `json:"CompletedCount"`
	ErrorCount             int                 `json:"ErrorCount"`
	DeliveryTimedOutCount  int                 `json:"DeliveryTimedOutCount"`
	ServiceRole            string              `json:"ServiceRole"`
	NotificationConfig     notificationJSON    `json:"NotificationConfig"`
	CloudWatchOutputConfig cloudWatchJSON      `json:"CloudWatchOutputConfig"`
	TimeoutSeconds         int                 `json:"TimeoutSeconds"`
	AlarmConfiguration     any                 `json:"AlarmConfiguration,omitempty"`
}

type getCommandInvocationInput struct {
	CommandId  *string `json:"CommandId"`
	InstanceId *string `json:"InstanceId"`
	PluginName *string `json:"PluginName"`
}

type getCommandInvocationOutput struct {
	CommandId              string         `json:"CommandId"`
	InstanceId             string         `json:"InstanceId"`
	Comment                string         `json:"Comment"`
	DocumentName           string         `json:"DocumentName"`
	DocumentVersion        string         `json:"DocumentVersion"`
	PluginName             string         `json:"PluginName"`
	ResponseCode           int            `json:"ResponseCode"`
	ExecutionStartDateTime string         `json:"ExecutionStartDateTime"`
	ExecutionElapsedTime   string         `json:"ExecutionElapsedTime"`
	ExecutionEndDateTime   string         `json:"ExecutionEndDateTime"`
	Status                 string         `json:"Status"`
	StatusDetails          string         `json:"StatusDetails"`
	StandardOutputContent  string         `json:"StandardOutputContent"`
	StandardOutputUrl      string         `json:"StandardOutputUrl"`
	StandardErrorContent   string         `json:"StandardErrorContent"`
	StandardErrorUrl       string         `json:"StandardErrorUrl"`
	CloudWatchOutputConfig cloudWatchJSON `json:"CloudWatchOutputConfig"`
}

type commandFilterJSON struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

type listCommandsInput struct {
	CommandId  *string             `json:"CommandId"`
	InstanceId *string             `json:"InstanceId"`
	MaxResults *int                `json:"MaxResults"`
	NextToken  *string             `json:"NextToken"`
	Filters    []commandFilterJSON `json:"Filters"`
	Details    bool                `json:"Details"`
}

type commandPluginJSON struct {
	Name                   string     `json:"Name"`
	Status                 string     `json:"Status"`
	StatusDetails          string     `json:"StatusDetails"`
	ResponseCode           int        `json:"ResponseCode"`
	ResponseStartDateTime  *epochTime `json:"ResponseStartDateTime,omitempty"`
	ResponseFinishDateTime *epochTime `json:"ResponseFinishDateTime,omitempty"`
	Output                 string     `json:"Output"`
	StandardOutputUrl      string     `json:"StandardOutputUrl"`
	StandardErrorUrl       string     `json:"StandardErrorUrl"`
	OutputS3Region         string     `json:"OutputS3Region"`
	OutputS3BucketName     string     `json:"OutputS3BucketName"`
	OutputS3KeyPrefix      string     `json:"OutputS3KeyPrefix"`
}

type commandInvocationJSON struct {
	CommandId              string              `json:"CommandId"`
	InstanceId             string              `json:"InstanceId"`
	InstanceName           string              `json:"InstanceName"`
	Comment                string              `json:"Comment"`
	DocumentName           string              `json:"DocumentName"`
	DocumentVersion        string              `json:"DocumentVersion"`
	RequestedDateTime      epochTime           `json:"RequestedDateTime"`
	Status                 string              `json:"Status"`
	StatusDetails          string              `json:"StatusDetails"`
	TraceOutput            string              `json:"TraceOutput"`
	StandardOutputUrl      string              `json:"StandardOutputUrl"`
	StandardErrorUrl       string              `json:"StandardErrorUrl"`
	CommandPlugins         []commandPluginJSON `json:"CommandPlugins"`
	ServiceRole            string              `json:"ServiceRole"`
	NotificationConfig     notificationJSON    `json:"NotificationConfig"`
	CloudWatchOutputConfig cloudWatchJSON      `json:"CloudWatchOutputConfig"`
}

type cancelCommandInput struct {
	CommandId   *string  `json:"CommandId"`
	InstanceIds []string `json:"InstanceIds"`
}

type instanceInformationFilterJSON struct {
	Key      *string  `json:"key"`
	ValueSet []string `json:"valueSet"`
}

type instanceInformationStringFilterJSON struct {
	Key    *string  `json:"Key"`
	Values []string `json:"Values"`
}

type describeInstanceInformationInput struct {
	InstanceInformationFilterList []instanceInformationFilterJSON       `json:"InstanceInformationFilterList"`
	Filters                       []instanceInformationStringFilterJSON `json:"Filters"`
	MaxResults                    *int                                  `json:"MaxResults"`
	NextToken                     *string                               `json:"NextToken"`
}

type instanceInformationJSON struct {
	InstanceId       string    `json:"InstanceId"`
	PingStatus       string    `json:"PingStatus"`
	LastPingDateTime epochTime `json:"LastPingDateTime"`
	AgentVersion     string    `json:"AgentVersion"`
	IsLatestVersion  bool      `json:"IsLatestVersion"`
	PlatformType     string    `json:"PlatformType"`
	PlatformName     string    `json:"PlatformName"`
	PlatformVersion  string    `json:"PlatformVersion"`
	ResourceType     string    `json:"ResourceType"`
	IPAddress        string    `json:"IPAddress"`
	ComputerName     string    `json:"ComputerName"`
	SourceId         string    `json:"SourceId"`
	SourceType       string    `json:"SourceType"`
}
